"""One module per resource. Each blocking backend call (boto3, SQLite) is handed to the
threadpool with `run_in_threadpool`, so it never stalls the event loop (the seed's
`async def` routes called boto3 directly). The routes themselves are `async def`, so a
request costs one thread hop, not one per sync dependency plus one for the response.
Routes do not import each other: what they share is in api.views, api.deps and
api.schemas."""
