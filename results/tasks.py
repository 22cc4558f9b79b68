"""Celery tasks: thin wrappers that claim a job row and call one service."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction

from .models import RebuildJob
from .services import TRANSIENT_ERRORS, job_claim, job_run, rebuild_refresh, refresh_record

logger = logging.getLogger(__name__)


@shared_task(name="results.refresh", acks_late=True, soft_time_limit=110, time_limit=120)
def refresh() -> list[int]:
    """Beat: queue rebuilds of series with new accepted responses; requeue stale jobs."""
    try:
        jobs = rebuild_refresh()
    except Exception as error:
        refresh_record(name="beat", interval=settings.TALLY_REFRESH_SECONDS, error=error)
        raise
    refresh_record(name="beat", interval=settings.TALLY_REFRESH_SECONDS)
    rebuild_queue(jobs)
    logger.info("Refresh queued %d rebuild job(s)", len(jobs))
    return [job.pk for job in jobs]


# Time limits come from CELERY_TASK_TIME_LIMIT; rerunning is safe (claims are idempotent
# and snapshots are immutable), so the message is acknowledged only when the task ends.
@shared_task(
    name="results.rebuild",
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def rebuild(*, job_id: int) -> int | None:
    job = job_claim(job_id=job_id)
    if job is None:
        logger.info("Rebuild job %s is gone, done or taken", job_id)
        return None
    snapshot = job_run(job=job)
    logger.info("Rebuild job %s finished: %s", job_id, snapshot)
    return snapshot.pk if snapshot else None


def rebuild_queue(jobs: Iterable[RebuildJob]) -> None:
    """Send rebuild jobs to a worker once the transaction that made them commits (in-process
    without a broker). A job sent twice is built once: claims are idempotent."""
    for job in jobs:
        transaction.on_commit(partial(rebuild.delay, job_id=job.pk))
