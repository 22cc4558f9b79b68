"""Rendered public pages kept per published snapshot (snapshots never change once built).

A page is stored in the shared cache under its snapshot, host and scheme for as long as
browsers and proxies may keep it anyway (`PAGE_MAX_AGE`), so a report costs one snapshot
lookup and one cache read instead of a render. Requests with a query string, and any
answer other than a plain 200, go to the view. A cache that does not answer is skipped. The
lookup reads the snapshot's id alone: decoding its summary (a large JSON document) would cost
more than the rest of a visit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from .selectors import published_snapshot_id

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


def per_snapshot(timeout: int) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args, **kwargs) -> HttpResponse:  # noqa: ANN002, ANN003
            if request.GET:
                return view(request, slug, *args, **kwargs)
            snapshot_id = published_snapshot_id(slug)
            if snapshot_id is None:
                return view(request, slug, *args, **kwargs)
            key = (
                f"tally:page:{view.__module__}.{view.__name__}:{snapshot_id}:"
                f"{request.scheme}:{request.get_host()}"
            )
            try:
                stored = cache.get(key)
            except Exception:  # noqa: BLE001 (the cache is down: render)
                stored = None
            if stored is not None:
                content, content_type = stored
                return HttpResponse(content, content_type=content_type)
            response = view(request, slug, *args, **kwargs)
            if response.status_code == 200 and not response.streaming and not response.cookies:
                try:
                    cache.set(key, (response.content, response["Content-Type"]), timeout)
                except Exception:  # noqa: BLE001
                    logger.debug("Page not cached", exc_info=True)
            return response

        return wrapper

    return decorate
