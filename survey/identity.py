"""Respondent identity: random tokens in signed cookies, stored only as keyed hashes."""

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.core import signing

COOKIE = "tally_rid"
# Inside an embed on another site the Lax respondent cookie is never sent: the poll widget
# keeps its own copy, third-party (SameSite=None) on HTTPS deploys, so the survey pages'
# cookie keeps its Lax policy.
EMBED_COOKIE = "tally_rid_embed"
COOKIE_SALT = "tally.respondent"


def token_new() -> str:
    return secrets.token_urlsafe(24)


def keyed_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of value under the deploy's hash key, separated by purpose."""
    key = f"{settings.TALLY_HASH_KEY}:{purpose}".encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def respondent_hash(token: str) -> str:
    return keyed_hash(token, purpose="respondent")


def survey_respondent_hash(survey_id: int, token: str) -> str:
    # Per-survey hashes: two surveys' (or polls') responses cannot be linked through them.
    return respondent_hash(f"{survey_id}:{token}")


def cookie_token(cookies: Mapping[str, str], names: Iterable[str] = (COOKIE,)) -> str | None:
    """The respondent token of the first of these cookies that holds a valid one."""
    for name in names:
        raw = cookies.get(name)
        if not raw:
            continue
        try:
            return signing.loads(raw, salt=COOKIE_SALT, max_age=settings.TALLY_COOKIE_MAX_AGE)
        except signing.BadSignature:
            continue
    return None


def ip_hash(ip: str) -> str:
    return keyed_hash(ip, purpose="ip")


def invitation_hash(token: str) -> str:
    return keyed_hash(token, purpose="invitation")
