"""The Lambda worker: a FastAPI app behind Mangum that runs scheduled tasks."""
