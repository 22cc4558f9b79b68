"""Celery tasks of the survey side: thin wrappers that take ids and call one service."""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter

from celery import shared_task
from django.core.cache import cache
from django.db import transaction

from . import limits
from .curation import quality_flags_compute
from .models import Survey

logger = logging.getLogger(__name__)

PENDING_KEY = "tally:response-checks:{survey_id}"
PENDING_SECONDS = 600  # a lost message is sent again after this long


@shared_task(name="survey.response_checks", acks_late=True)
def response_checks(*, survey_id: int) -> dict[str, int]:
    """Quality flags (duplicate, too fast, straight-lining, near-duplicate) and normalized
    company names of a survey's completed responses, so the per-employer cap can work."""
    try:
        cache.delete(PENDING_KEY.format(survey_id=survey_id))  # later submissions queue again
    except Exception:  # noqa: BLE001 (the cache is down: the key expires on its own)
        logger.warning("Could not clear the pending checks of survey %s", survey_id)
    if not Survey.objects.filter(pk=survey_id).exists():
        return {}
    counts: Counter[str] = quality_flags_compute(survey_id=survey_id)
    return dict(counts)


_last_warning = [0.0]


def _warn_unqueued(survey_id: int, error: Exception) -> None:
    """One line at most every 30 s: while the broker is down every submission gets here."""
    now = time.monotonic()
    if now - _last_warning[0] > 30:
        _last_warning[0] = now
        logger.warning("Could not queue the checks of survey %s: %s", survey_id, error)


def response_checks_queue(*, survey_id: int) -> None:
    """Check a survey's responses once the submission's transaction commits: in the worker,
    or in-process without a broker. One check waits per survey, however many submissions
    arrive meanwhile. A broker that is down never fails the submission (it is saved)."""

    key = PENDING_KEY.format(survey_id=survey_id)

    def send() -> None:
        try:
            if not limits.cache_add(key, 1, timeout=PENDING_SECONDS):
                return  # one is queued already and will see this response
            # No publishing retries: with the broker down the respondent is not kept waiting.
            response_checks.apply_async(kwargs={"survey_id": survey_id}, retry=False)
        except Exception as error:  # noqa: BLE001 (the response is saved; `quality_flags` catches up)
            _warn_unqueued(survey_id, error)
            with contextlib.suppress(Exception):  # the cache may be down too: the key expires
                cache.delete(key)

    transaction.on_commit(send)
