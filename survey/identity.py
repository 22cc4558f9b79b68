"""Respondent identity: random tokens in signed cookies, stored only as keyed hashes."""

import hashlib
import hmac
import secrets

from django.conf import settings


def token_new() -> str:
    return secrets.token_urlsafe(24)


def keyed_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of value under the deploy's hash key, separated by purpose."""
    key = f"{settings.TALLY_HASH_KEY}:{purpose}".encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def respondent_hash(token: str) -> str:
    return keyed_hash(token, purpose="respondent")


def ip_hash(ip: str) -> str:
    return keyed_hash(ip, purpose="ip")


def invitation_hash(token: str) -> str:
    return keyed_hash(token, purpose="invitation")
