"""Rendered public pages kept per published snapshot (snapshots never change once built).

A page is stored under its snapshot, host and scheme for as long as browsers and proxies may
keep it anyway (`PAGE_MAX_AGE`): in this process's memory (the most recently used pages, up
to LOCAL_BYTES) and in the shared cache, so a report costs one snapshot lookup and a
dictionary read, or a shared-cache read in a process that has not served it yet, instead of
a render. Which snapshot is the published one is itself asked at most once every
LOOKUP_SECONDS per series and process (a snapshot published elsewhere is served within that
time; one published in this process at once): served with max-age PAGE_MAX_AGE, a page may
be that old in any browser or proxy anyway, and a visit then reads no database at all.
Requests with a query string, and any answer other than a plain 200, go to the view. A cache
that does not answer is skipped. The lookup reads the snapshot's id alone: decoding its
summary (a large JSON document) would cost more than the rest of a visit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from .selectors import published_snapshot_id

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]

LOCAL_BYTES = 32 * 1024 * 1024
LOOKUP_SECONDS = 1.0
clock = time.monotonic  # (tests move it)

# slug -> (when to ask again, the published snapshot's id); a series with none is not kept.
_published: dict[str, tuple[float, int]] = {}


class LocalPages:
    """The most recently used pages of this process, bounded by their total size; each
    entry expires when its shared-cache copy would."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._pages: OrderedDict[str, tuple[float, bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bytes, str] | None:
        with self._lock:
            entry = self._pages.get(key)
            if entry is None:
                return None
            if entry[0] <= clock():
                self._drop(key)
                return None
            self._pages.move_to_end(key)
            return entry[1], entry[2]

    def set(self, key: str, content: bytes, content_type: str, timeout: float) -> None:
        if timeout <= 0 or len(content) > self.budget:
            return
        with self._lock:
            if key in self._pages:
                self._drop(key)
            self._pages[key] = (clock() + timeout, content, content_type)
            self.used += len(content)
            while self.used > self.budget:
                self._drop(next(iter(self._pages)))

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self.used = 0

    def _drop(self, key: str) -> None:
        self.used -= len(self._pages.pop(key)[1])


local_pages = LocalPages(LOCAL_BYTES)


def _published_id(slug: str) -> int | None:
    now = clock()
    known = _published.get(slug)
    if known is not None and known[0] > now:
        return known[1]
    snapshot_id = published_snapshot_id(slug)
    if snapshot_id is None:
        _published.pop(slug, None)
    else:
        _published[slug] = (now + LOOKUP_SECONDS, snapshot_id)
    return snapshot_id


def forget(*, pages: bool = False) -> None:
    """Ask the database again which snapshot each series has published, as after publishing
    in this process; with pages, drop this process's pages too."""
    _published.clear()
    if pages:
        local_pages.clear()


def per_snapshot(timeout: int) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args, **kwargs) -> HttpResponse:  # noqa: ANN002, ANN003
            if request.GET:
                return view(request, slug, *args, **kwargs)
            snapshot_id = _published_id(slug)
            if snapshot_id is None:
                return view(request, slug, *args, **kwargs)
            key = (
                f"tally:page2:{view.__module__}.{view.__name__}:{snapshot_id}:"
                f"{request.scheme}:{request.get_host()}"
            )
            page = local_pages.get(key) or _shared_get(key)
            if page is not None:
                return HttpResponse(page[0], content_type=page[1])
            response = view(request, slug, *args, **kwargs)
            if response.status_code == 200 and not response.streaming and not response.cookies:
                content, content_type = response.content, response["Content-Type"]
                local_pages.set(key, content, content_type, timeout=timeout)
                try:
                    cache.set(key, (content, content_type, time.time() + timeout), timeout)
                except Exception:  # noqa: BLE001
                    logger.debug("Page not cached", exc_info=True)
            return response

        return wrapper

    return decorate


def _shared_get(key: str) -> tuple[bytes, str] | None:
    """A page from the shared cache, kept in this process for what is left of its time."""
    try:
        stored = cache.get(key)
    except Exception:  # noqa: BLE001 (the cache is down: render)
        return None
    if stored is None:
        return None
    content, content_type, expires = stored
    local_pages.set(key, content, content_type, timeout=expires - time.time())
    return content, content_type
