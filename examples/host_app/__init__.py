"""A FastAPI app of its own, with the scheduler embedded (docs/embedding.md)."""
