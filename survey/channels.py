"""Channel names from anonymous clients are held for an admin's approval before any public
page shows them: until then the response counts under the default channel."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .models import Channel, Response

DEFAULT_CHANNELS = {"direct", "api"}


def channel_public(requested: str, *, default: str) -> str:
    """The channel to store: the requested name once approved, else `default` (and the name
    is put in the admin's queue)."""
    if not requested or requested in DEFAULT_CHANNELS or requested == default:
        return default
    if Channel.objects.filter(name=requested, approved=True).exists():
        return requested
    try:
        with transaction.atomic():
            Channel.objects.get_or_create(name=requested)
    except IntegrityError:  # created by a concurrent request
        pass
    return default


def channel_hold(response: Response, requested: str) -> None:
    """Remember the name a held response asked for, to apply it once approved."""
    if requested and requested != response.channel:
        Response.objects.filter(pk=response.pk).update(channel_requested=requested)


def channels_approve(names: list[str]) -> int:
    """Approve channel names and move their held responses to them (the next refresh
    rebuilds the report: their updated_at moves)."""
    Channel.objects.filter(name__in=names).update(approved=True)
    return Response.objects.filter(channel_requested__in=names).update(
        channel=F("channel_requested"), channel_requested="", updated_at=timezone.now()
    )
