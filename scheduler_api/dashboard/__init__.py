"""The web dashboard at /dashboard: static files served by the app (no build step, nothing
from the internet), talking to the same /scheduler routes as any client."""
