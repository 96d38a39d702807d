"""HTTP API that turns task requests into EventBridge Scheduler schedules."""
