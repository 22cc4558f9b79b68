"""Failures a respondent can read: 503 when the database is down, 413 for an oversize page,
Retry-After on every 429, and never a traceback (DEBUG or not) for anyone but staff."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from . import limits

logger = logging.getLogger(__name__)

DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_DATABASE_SECONDS = 10
# Exceptions Django answers itself with a 4xx: left to it.
CLIENT_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _database_down(error: BaseException | None) -> bool:
    if isinstance(error, DATABASE_DOWN):
        return True
    try:
        import psycopg

        return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
    except ImportError:  # pragma: no cover
        return False


class _Breaker:
    """After the database failed a request, the next ones in this process answer 503 at
    once for a moment instead of each waiting out the pool's timeout: threads stay free
    (for /healthz, static files and the rest), and respondents learn it in milliseconds."""

    def __init__(self) -> None:
        self.open_until = 0.0

    def trip(self) -> None:
        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
            return  # a file, not a server: a locked database is not a database gone
        self.open_until = time.monotonic() + settings.TALLY_DB_BREAKER_SECONDS

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until


breaker = _Breaker()
EXEMPT_PREFIXES = ("/healthz", "/static/", "/favicon.ico")


def unavailable(request: HttpRequest) -> HttpResponse:
    """503: the database does not answer; nothing saved before is lost."""
    if _is_api(request):
        response: HttpResponse = JsonResponse(
            {"detail": "The database is unavailable; nothing was saved. Retry shortly."},
            status=503,
        )
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_DATABASE_SECONDS)
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400 for a request Django cannot read (too many fields, a malformed body): the plain
    page or JSON, DEBUG or not, saying what was wrong; nothing saved is touched."""
    logger.warning("Bad request to %s: %s", request.path, exception)
    if isinstance(exception, TooManyFieldsSent):
        detail = (
            f"The request sent more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields; "
            "nothing was saved."
        )
    else:
        detail = "The request could not be read; nothing was saved."
    if _is_api(request):
        return JsonResponse({"detail": detail}, status=400)
    return HttpResponse(loader.render_to_string("400.html", {"detail": detail}), status=400)


def too_large(request: HttpRequest, size: int | None = None) -> HttpResponse:
    """413: a body over DATA_UPLOAD_MAX_MEMORY_SIZE; what earlier pages saved is kept."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if _is_api(request):
        return JsonResponse(
            {
                "detail": f"The request body is larger than {limit} bytes; nothing was saved.",
                "limit_bytes": limit,
            },
            status=413,
        )
    back = request.path if request.path.startswith("/s/") else "/"
    html = loader.render_to_string(
        "413.html",
        {
            "size_kb": (size or limit) // 1024 + 1,
            "limit_kb": limit // 1024,
            "back": back,
        },
    )
    return HttpResponse(html, status=413)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a 503 when the cause is the database, else the plain 500 page."""
    if _database_down(sys.exc_info()[1]):
        breaker.trip()
        return unavailable(request)
    if _is_api(request):
        return JsonResponse({"detail": "Server error. Retry later."}, status=500)
    return HttpResponse(loader.render_to_string("500.html"), status=500)


class ResilienceMiddleware:
    """Put it right after SecurityMiddleware/WhiteNoise, before the session middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limits.retry_after.set(None)
        if breaker.is_open() and not request.path.startswith(EXEMPT_PREFIXES):
            return unavailable(request)
        size = _content_length(request)
        if size is not None and size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            if not request.META.get("CONTENT_TYPE", "").startswith("multipart/"):
                return too_large(request, size)
        response = self.get_response(request)
        if response.status_code == 429 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(limits.retry_after.get() or 3600)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return too_large(request)
        if _database_down(exception):
            logger.warning("Database unavailable for %s: %s", request.path, exception)
            breaker.trip()
            return unavailable(request)
        if isinstance(exception, (BadRequest, SuspiciousOperation)) and not (
            settings.DEBUG and _is_staff(request)
        ):
            return bad_request(request, exception)
        if isinstance(exception, CLIENT_ERRORS):
            return None
        if settings.DEBUG and _is_staff(request):
            return None  # Django's debug page, for the developer only
        if not settings.DEBUG:
            return None  # handler500 answers (and Django logs it)
        logger.error("Server error on %s", request.path, exc_info=exception)
        if _is_api(request):
            return JsonResponse({"detail": "Server error. Retry later."}, status=500)
        return HttpResponse(loader.render_to_string("500.html"), status=500)


def _is_staff(request: HttpRequest) -> bool:
    try:
        return bool(request.user.is_staff)
    except Exception:  # noqa: BLE001 (the session may be what failed)
        return False


def _content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) or None
    except ValueError:
        return None
