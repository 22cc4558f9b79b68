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
import weakref
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
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


# Per cache backend (one per thread, new ones after a settings change): its Redis client.
_clients: weakref.WeakKeyDictionary[RedisCache, Any] = weakref.WeakKeyDictionary()


def _redis(key: str) -> tuple[Any, str] | None:
    """The Redis client and full key behind the shared cache, to send several commands in
    one round trip (Django's cache API takes one or more per call, and builds a new client
    object for each, which costs more than the round trip); None for other caches."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    client = _clients.get(backend)
    if client is None:
        # Django's own connection pool; writes always go to the first server, as in Django.
        client = _clients[backend] = backend._cache.get_client(write=True)
    return client, backend.make_and_validate_key(key)


def cache_add(key: str, value: int, *, timeout: int) -> bool:
    """`cache.add` in one round trip on Redis: whether the key was not there and now is."""
    redis = _redis(key)
    if redis is None:
        return cache.add(key, value, timeout=timeout)
    client, full = redis
    return bool(client.set(full, value, nx=True, ex=timeout))


# KEYS[1]: the counter to add one to, kept ARGV[1] seconds; KEYS[2] (optional): one to read.
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
local before = 0
if KEYS[2] then before = tonumber(redis.call('GET', KEYS[2]) or '0') end
return {count, before}
"""


def _count(key: str, ttl: int, *, before: str = "") -> tuple[int, int]:
    """Count one event under `key` (kept `ttl` seconds) and read the count under `before`:
    one round trip to Redis. Raises when the shared cache does not answer."""
    redis = _redis(key)
    if redis is None:
        cache.add(key, 0, timeout=ttl)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=ttl)
            count = 1
        return count, int(cache.get(before) or 0) if before else 0
    client, full = redis
    keys = [full, caches["default"].make_and_validate_key(before)] if before else [full]
    count, earlier = client.eval(_COUNT_SCRIPT, len(keys), *keys, ttl)
    return int(count), int(earlier)


def hit(scope: str, ident: str, *, limit: int, window: int) -> Decision:
    """Count one event for (scope, ident) in the current fixed window of `window` seconds."""
    now = time.time()
    bucket = int(now // window)
    key = f"tally:{scope}:{ident}:{bucket}"
    try:
        count, _ = _count(key, window + 60)
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
    """DRF's anonymous throttle keyed by `client_ip`, counted in one round trip to the shared
    cache, failing open to a per-process count when it does not answer.

    DRF's own keeps each client's request times (a read and a write of the whole list per
    request); this keeps a count per window and estimates the last `duration` seconds from
    it and the previous window's count, weighted by how much of that window they still
    cover (a sliding window: a burst at a window's end is still counted after it). Refused
    requests count too: a client that keeps hammering stays refused.
    """

    num_requests: int  # set from the rate by SimpleRateThrottle
    duration: int

    def get_ident(self, request) -> str:  # noqa: ANN001 (DRF's signature)
        return client_ip(request)

    def allow_request(self, request, view) -> bool:  # noqa: ANN001
        if self.rate is None or (request.user and request.user.is_authenticated):
            return True  # as AnonRateThrottle: only anonymous clients are throttled
        ident = self.get_ident(request)
        now = self.timer()
        window = int(now // self.duration)
        key = f"tally:throttle:{self.scope}:{ident}"
        try:
            count, before = _count(
                f"{key}:{window}", 2 * self.duration, before=f"{key}:{window - 1}"
            )
        except Exception as error:  # noqa: BLE001 (the cache is down)
            shared_cache_failed(error)
            decision = hit_local(f"throttle:{self.scope}", ident, self.num_requests, self.duration)
            self._wait = decision.retry_after
            return decision.allowed
        elapsed = now - window * self.duration
        covered = 1 - elapsed / self.duration  # of the previous window, still in the last duration
        if before * covered + count <= self.num_requests:
            return True
        self._wait = self._until_allowed(count, before, elapsed)
        return False

    def _until_allowed(self, count: int, before: int, elapsed: float) -> int:
        """Seconds until one more request would pass, if the client sends nothing meanwhile."""
        room = self.num_requests - count  # for the previous window's weighted part
        if room > 0 and before > 0:
            return max(1, math.ceil(self.duration * (1 - room / before) - elapsed))
        # This window's count must fade too: in the next window it weighs (1 - e / duration).
        fade = self.duration * (1 - (self.num_requests - 1) / max(count, 1))
        return max(1, math.ceil(self.duration - elapsed + fade))

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


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
    keyed: bool = False  # from the client's key: an earlier submission may have used it


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
    return Idempotency(identity.respondent_hash(f"api-idempotency:{key}"), keyed=True)


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

# KEYS[1]: the body's key; ARGV: this submission's respondent hash, the window in seconds.
# The value is "0:<hash>" of the first submission of the body, "1:<hash>" once a twin came.
_IDENTICAL_BODY_SCRIPT = """
local first = redis.call('GET', KEYS[1])
if not first then
  redis.call('SET', KEYS[1], '0:' .. ARGV[1], 'EX', tonumber(ARGV[2]))
  return false
end
if string.sub(first, 1, 2) == '0:' and string.sub(first, 3) ~= ARGV[1] then
  redis.call('SET', KEYS[1], '1:' .. string.sub(first, 3), 'KEEPTTL')
end
return first
"""


@dataclass(frozen=True)
class Twin:
    """An earlier API submission sent the same body: its respondent hash, and whether this
    one is the first twin (so that the earlier one is flagged too, once)."""

    first_hash: str
    flag_first: bool


def identical_body(survey_id: int, answers: dict, respondent_hash: str) -> Twin | None:
    """Whether another API submission sent these answers within
    TALLY_DUPLICATE_WINDOW_SECONDS (both are flagged and stay in the data; curation decides).
    Asked before the response is written, so its flag goes in with it: one round trip."""
    digest = hashlib.sha256(
        json.dumps([survey_id, answers], sort_keys=True, default=str).encode()
    ).hexdigest()
    key = f"tally:api-body:{digest}"
    window = settings.TALLY_DUPLICATE_WINDOW_SECONDS
    try:
        redis = _redis(key)
        if redis is not None:
            client, full = redis
            found = client.eval(_IDENTICAL_BODY_SCRIPT, 1, full, respondent_hash, window)
            first = found.decode() if isinstance(found, bytes) else found
        else:  # another cache (the embedded default's): the same steps, not atomic
            first, value = _first_of_body(cache.get(key), respondent_hash)
            cache.set(key, value, timeout=window)
    except Exception as error:  # noqa: BLE001 (the shared cache is down)
        shared_cache_failed(error)
        if len(_local_bodies) > 100_000:
            _local_bodies.clear()
        first, _local_bodies[digest] = _first_of_body(_local_bodies.get(digest), respondent_hash)
    if not first or first[2:] == respondent_hash:  # the first, or a retry of it
        return None
    return Twin(first_hash=first[2:], flag_first=first.startswith("0:"))


def _first_of_body(first: str | None, respondent_hash: str) -> tuple[str | None, str]:
    """What the script above returns for a stored value, and the value to store."""
    if first is None:
        return None, f"0:{respondent_hash}"
    if first.startswith("0:") and first[2:] != respondent_hash:
        return first, f"1:{first[2:]}"
    return first, first


def flag_first_twin(*, survey, respondent_hash: str) -> None:  # noqa: ANN001
    """Add the identical-body flag to the first submission of a body (when it was saved)."""
    from .models import Response

    first = (
        Response.objects.select_for_update()
        .filter(survey=survey, respondent_hash=respondent_hash)
        .only("pk", "quality_flags")
        .first()
    )
    if first is not None and IDENTICAL_BODY not in first.quality_flags:
        first.quality_flags = [*first.quality_flags, IDENTICAL_BODY]
        first.save(update_fields=["quality_flags"])


_local_bodies: dict[str, str] = {}
