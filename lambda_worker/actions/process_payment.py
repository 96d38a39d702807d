import logging
from typing import Any

from lambda_worker.actions.registry import action
from lambda_worker.schemas import TaskCallbackRequest

logger = logging.getLogger(__name__)


@action("process_payment")
def process_payment(task: TaskCallbackRequest) -> dict[str, Any]:
    payment_id = task.data.get("payment_id")
    logger.info("would process payment %s for user %s", payment_id, task.user_id)
    return {"payment_id": payment_id, "status": "processed"}
