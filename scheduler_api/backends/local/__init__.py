"""The embedded engine: schedules in a SQLite file, fired on this machine."""
