from fastapi import FastAPI

from scheduler_api.schemas import ScheduleTaskRequest

app = FastAPI()


@app.post("/scheduler/schedule")
def schedule(request: ScheduleTaskRequest) -> dict[str, object]:
    return {"success": True, "task_id": request.task_id}


@app.get("/health")
def health():
    return {}
