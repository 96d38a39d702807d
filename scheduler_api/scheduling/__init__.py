"""Schedule expressions (at, rate, cron) as AWS EventBridge Scheduler reads them."""
