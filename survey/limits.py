"""Who the client is, and how much it may do: rate limits that cost the abuser, not the rest.

- The client address comes from `client_ip`, the one place that reads X-Forwarded-For, and
  only as far as the deploy trusts it (TALLY_TRUSTED_PROXY_HOPS or TALLY_TRUSTED_PROXIES).
- Counters live in the shared cache (Redis). When it does not answer, a limit falls back to
  a counter in this process and logs it: a Redis outage never rejects a response
  (invariant 1), and a flood still meets a limit per process.
- A refusal records when to retry; the middleware puts it in the 429's `Retry-After`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
import re
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response as ApiResponse
from rest_framework.throttling import AnonRateThrottle

logger = logging.getLogger(__name__)

# Seconds until a refused client may retry, for the response's Retry-After header.
retry_after: ContextVar[int | None] = ContextVar("tally_retry_after", default=None)


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry the trusted proxies
    in front of us vouch for (never one a client could have written itself)."""
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = [
        item.strip()
        for item in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if item.strip()
    ]
    chain = [*forwarded, remote]  # nearest proxy last
    hops = settings.TALLY_TRUSTED_PROXY_HOPS
    if hops:
        # Each trusted proxy appended the address it saw: the client is `hops` from the end.
        return chain[max(0, len(chain) - 1 - hops)]
    networks = settings.TALLY_TRUSTED_PROXIES
    if networks:
        index = len(chain) - 1
        while index > 0 and _trusted(chain[index], networks):
            index -= 1
        return chain[index]
    return remote


def _trusted(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int  # seconds until the window ends (when refused)


class _LocalCounters:
    """Per-process fallback counters, used only while the shared cache is unreachable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def incr(self, key: str) -> int:
        with self._lock:
            if len(self._counts) > 100_000:  # old windows' keys: forget them all
                self._counts.clear()
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


_local = _LocalCounters()
_last_warning = [0.0]


def shared_cache_failed(error: Exception) -> None:
    """Log (at most every 30 s) that the shared cache is down and limits are per process."""
    now = time.monotonic()
    if now - _last_warning[0] > 30:
        _last_warning[0] = now
        logger.warning(
            "Shared cache unreachable (%s): rate limits fall back to per-process counters",
            error,
        )


def hit(scope: str, ident: str, *, limit: int, window: int) -> Decision:
    """Count one event for (scope, ident) in the current fixed window of `window` seconds."""
    now = time.time()
    bucket = int(now // window)
    key = f"tally:{scope}:{ident}:{bucket}"
    try:
        cache.add(key, 0, timeout=window + 60)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window + 60)
            count = 1
    except Exception as error:  # noqa: BLE001 (redis.ConnectionError, timeouts, OSError)
        shared_cache_failed(error)
        count = _local.incr(key)
    wait = max(1, math.ceil((bucket + 1) * window - now))
    decision = Decision(allowed=count <= limit, retry_after=wait)
    if not decision.allowed:
        retry_after.set(wait)
    return decision


def drafts_allowed(request: HttpRequest, ip_hash: str) -> bool:
    """May this client start one more draft? A per-IP-hash and a per-session budget."""
    hour = 3600
    if (
        ip_hash
        and not hit(
            "drafts-ip", ip_hash, limit=settings.TALLY_DRAFT_RATE_PER_HOUR, window=hour
        ).allowed
    ):
        return False
    # The session's own count travels with its cookie; a client that drops cookies gets
    # a new session each time, and meets the per-IP budget instead.
    bucket = int(time.time() // hour)
    counts = request.session.get("tally_drafts")
    if not isinstance(counts, list) or len(counts) != 2 or counts[0] != bucket:
        counts = [bucket, 0]
    if counts[1] >= settings.TALLY_DRAFT_RATE_PER_SESSION:
        retry_after.set(max(1, math.ceil((bucket + 1) * hour - time.time())))
        return False
    request.session["tally_drafts"] = [bucket, counts[1] + 1]
    return True


class ClientRateThrottle(AnonRateThrottle):
    """DRF's anonymous throttle keyed by `client_ip`, failing open to a per-process count
    when the shared cache does not answer."""

    num_requests: int  # set from the rate by SimpleRateThrottle
    duration: int

    def get_ident(self, request) -> str:  # noqa: ANN001 (DRF's signature)
        return client_ip(request)

    def allow_request(self, request, view) -> bool:  # noqa: ANN001
        try:
            return super().allow_request(request, view)
        except Exception as error:  # noqa: BLE001 (the cache is down)
            shared_cache_failed(error)
            if self.rate is None:
                return True
            ident = self.get_ident(request)
            decision = hit_local(f"throttle:{self.scope}", ident, self.num_requests, self.duration)
            if not decision.allowed:
                self.history, self.now = [], time.time()
                self._local_wait = decision.retry_after
            return decision.allowed

    def wait(self) -> float | None:
        local = getattr(self, "_local_wait", None)
        return local if local is not None else super().wait()


def hit_local(scope: str, ident: str, limit: int, window: int) -> Decision:
    now = time.time()
    bucket = int(now // window)
    count = _local.incr(f"tally:{scope}:{ident}:{bucket}")
    return Decision(count <= limit, max(1, math.ceil((bucket + 1) * window - now)))


# An API submission retried with the same key returns the first result.
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="A unique value per submission (a random UUID). A retry with the same key "
    "(after a timeout or a lost connection) returns the first submission's result, with "
    "the header `Idempotent-Replayed: true`, instead of saving a second response. Keys "
    "are remembered as long as the response is kept.",
)


@dataclass(frozen=True)
class Idempotency:
    respondent_hash: str
    error: str = ""


def idempotency_key(request: HttpRequest) -> Idempotency:
    """The respondent hash of this submission: derived from its Idempotency-Key when it has
    one (the database's one-response-per-respondent constraint then makes retries safe),
    else random."""
    from . import identity

    key = request.headers.get("Idempotency-Key")
    if key is None:
        return Idempotency(identity.respondent_hash(f"api:{identity.token_new()}"))
    if not IDEMPOTENCY_KEY.match(key):
        return Idempotency("", "Idempotency-Key must be 1 to 200 visible ASCII characters.")
    return Idempotency(identity.respondent_hash(f"api-idempotency:{key}"))


def idempotent_replay(survey, respondent_hash: str) -> ApiResponse | None:  # noqa: ANN001
    """The first result of a submission already saved under this key, if any."""
    from .models import Response

    first = Response.objects.filter(survey=survey, respondent_hash=respondent_hash).first()
    if first is None:
        return None
    return ApiResponse(
        {"status": first.status}, status=201, headers={"Idempotent-Replayed": "true"}
    )


IDENTICAL_BODY = "identical-api-body"


def flag_identical_body(response, answers: dict) -> bool:  # noqa: ANN001
    """Flag a response whose answers are identical to another API submission's within
    TALLY_DUPLICATE_WINDOW_SECONDS (both stay in the data; curation decides)."""
    from .models import Response

    digest = hashlib.sha256(
        json.dumps([response.survey_id, answers], sort_keys=True, default=str).encode()
    ).hexdigest()
    key = f"tally:api-body:{digest}"
    window = settings.TALLY_DUPLICATE_WINDOW_SECONDS
    try:
        first = cache.get(key)
        if first is None:
            cache.set(key, response.pk, timeout=window)
            return False
    except Exception as error:  # noqa: BLE001 (the shared cache is down)
        shared_cache_failed(error)
        if len(_local_bodies) > 100_000:
            _local_bodies.clear()
        first = _local_bodies.setdefault(digest, response.pk)
        if first == response.pk:
            return False
    flags = [*response.quality_flags, IDENTICAL_BODY]
    Response.objects.filter(pk__in=[response.pk, first]).update(quality_flags=flags)
    logger.info("Response %s has the same answers as response %s", response.pk, first)
    return True


_local_bodies: dict[str, int] = {}
