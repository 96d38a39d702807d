"""Response models of the scheduler API, one module per resource (the request bodies are
the service's commands: services/requests.py)."""
