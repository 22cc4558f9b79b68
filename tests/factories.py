"""Factories shared by the survey and results tests."""

from typing import Any

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache

from survey.models import Answer, Response, Survey
from survey.services import Structure, response_import


def cache_clear() -> None:
    """Empty the cache. On Redis only the cache's own keys go: FLUSHDB would also take the
    Celery broker's queues and bindings, which share the database, from under a worker."""
    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


def imported_response(
    survey: Survey,
    *,
    respondent_hash: str,
    values: dict[str, Any],
    channel: str = "direct",
    structure: Structure | None = None,
    **fields: Any,
) -> Response:
    """A complete response saved through the same answer rules as an import."""
    response, answers = response_import(
        survey=survey,
        respondent_hash=respondent_hash,
        values=values,
        channel=channel,
        structure=structure or Structure.of(survey),
    )
    for name, value in fields.items():
        setattr(response, name, value)
    response.save()
    for answer in answers:
        answer.response = response
    Answer.objects.bulk_create(answers)
    return response
