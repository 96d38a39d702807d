"""What a test leaves behind that nothing else frees: FastAPI keeps module-level caches
keyed by each route's endpoint function (up to 4,096 entries each). Our endpoints are
closures over the app's Runtime, so every app a test built, with its boto3 clients and
their service models, stayed alive to the end of the session: 5-7 GB, and a `gc.collect()`
of a minute when pytest finished. Clearing the caches after each test lets the app go."""

from __future__ import annotations

from fastapi._compat import v2 as fastapi_compat
from fastapi.dependencies import models as fastapi_dependencies

FASTAPI_CALLABLE_CACHES = (
    fastapi_dependencies._is_gen_callable_cached,
    fastapi_dependencies._is_async_gen_callable_cached,
    fastapi_dependencies._is_coroutine_callable_cached,
    fastapi_compat.get_cached_model_fields,
)


def release_framework_caches() -> None:
    """Forget the endpoints FastAPI classified: they are rebuilt on the next app's first use."""
    for cache in FASTAPI_CALLABLE_CACHES:
        cache.cache_clear()
