"""Channel names from anonymous clients are held for an admin's approval before any public
page shows them: until then the response counts under the default channel."""

from __future__ import annotations

from django.db import connection
from django.db.models import F
from django.utils import timezone

from .models import Channel, Response

DEFAULT_CHANNELS = {"direct", "api"}


def channel_public(requested: str, *, default: str) -> str:
    """The channel to store: the requested name once approved, else `default` (and the name
    is put in the admin's queue)."""
    if not requested or requested in DEFAULT_CHANNELS or requested == default:
        return default
    # A name no row can hold (PostgreSQL text refuses NUL; the column has a length) is none.
    longest = Channel._meta.get_field("name").max_length or 0
    if "\x00" in requested or len(requested) > longest:
        return default
    with connection.cursor() as cursor:  # every submission naming a channel: not the ORM's cost
        cursor.execute("SELECT approved FROM survey_channel WHERE name = %s", [requested])
        row = cursor.fetchone()
    approved = None if row is None else bool(row[0])
    if approved:
        return requested
    if approved is None:  # a new name: queue it (a concurrent request may have done so)
        Channel.objects.bulk_create([Channel(name=requested)], ignore_conflicts=True)
    return default


def channel_held(requested: str, channel: str) -> str:
    """The name a response stored under `channel` waits for: applied once approved."""
    return requested if requested and requested != channel else ""


def channel_hold(response: Response, requested: str) -> None:
    """Remember the name a held response asked for, to apply it once approved."""
    held = channel_held(requested, response.channel)
    if held:
        Response.objects.filter(pk=response.pk).update(channel_requested=held)


def channels_approve(names: list[str]) -> int:
    """Approve channel names and move their held responses to them (the next refresh
    rebuilds the report: their updated_at moves)."""
    Channel.objects.filter(name__in=names).update(approved=True)
    return Response.objects.filter(channel_requested__in=names).update(
        channel=F("channel_requested"), channel_requested="", updated_at=timezone.now()
    )
