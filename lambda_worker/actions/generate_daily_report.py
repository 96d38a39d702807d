import logging
from typing import Any

from lambda_worker.actions.registry import action
from lambda_worker.schemas import TaskCallbackRequest

logger = logging.getLogger(__name__)


@action("generate_daily_report")
def generate_daily_report(task: TaskCallbackRequest) -> dict[str, Any]:
    report_date = task.data.get("date", "today")
    logger.info("would generate the daily report for %s", report_date)
    return {"report_date": report_date, "generated": True}
