"""Where schedules live: a backend whose methods are named after the AWS operations."""
