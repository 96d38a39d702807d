import logging
from typing import Any

from lambda_worker.actions.registry import action
from lambda_worker.schemas import TaskCallbackRequest

logger = logging.getLogger(__name__)


@action("cleanup")
def cleanup(task: TaskCallbackRequest) -> dict[str, Any]:
    resource_id = task.data.get("resource_id")
    logger.info("would clean up %s resource %s", task.data.get("resource_type"), resource_id)
    return {"resource_id": resource_id, "cleaned": True}
