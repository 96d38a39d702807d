import logging
from typing import Any

from lambda_worker.actions.registry import action
from lambda_worker.schemas import TaskCallbackRequest

logger = logging.getLogger(__name__)


@action("send_notification")
def send_notification(task: TaskCallbackRequest) -> dict[str, Any]:
    channel = str(task.data.get("channel", "email"))
    logger.info("would send a %s notification to user %s", channel, task.user_id)
    return {"notified_user": task.user_id, "channel": channel}
