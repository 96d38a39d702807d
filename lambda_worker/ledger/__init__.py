"""The task ledger: one record per execution, keyed (task_id, scheduled_time), so a task
runs once even though delivery is at least once. Stores load lazily, on first use."""
