"""Rebuild jobs: requests, claims under a row lock, runs, and the refresh that finds work."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from survey import selectors
from survey.models import Series

from .. import disclosure
from ..models import RebuildJob, Snapshot
from .build import snapshot_build
from .publish import SnapshotNotPublishableError, snapshot_publish

logger = logging.getLogger(__name__)

STALE_JOB_SECONDS = 300  # a running job silent this long lost its worker
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def job_claim(*, job_id: int) -> RebuildJob | None:
    """Take a queued job for this worker; None if it is gone, done or taken."""
    with transaction.atomic():
        job = (
            RebuildJob.objects.select_for_update(skip_locked=True)
            .select_related("series")
            .filter(pk=job_id, status=RebuildJob.Status.QUEUED)
            .first()
        )
        if job is None:
            return None
        now = timezone.now()
        job.status = RebuildJob.Status.RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = now
        job.progress, job.message = 0, "Started"
        job.save(
            update_fields=[
                "status",
                "attempts",
                "started_at",
                "heartbeat_at",
                "progress",
                "message",
            ]
        )
    return job


def job_run(*, job: RebuildJob) -> Snapshot | None:
    """Build the job's series, publish if asked (and the audit passes), close the job.

    Transient database errors put the job back in the queue and propagate, for the task to
    retry; any other failure marks the job failed and leaves the published snapshot alone.
    """
    try:
        snapshot = snapshot_build(series_id=job.series_id, job_id=job.pk)
    except TRANSIENT_ERRORS:
        RebuildJob.objects.filter(pk=job.pk, status=RebuildJob.Status.RUNNING).update(
            status=RebuildJob.Status.QUEUED, message="Database unavailable: retrying"
        )
        raise
    except Exception as error:
        logger.exception("Rebuild job %s failed", job.pk)
        RebuildJob.objects.filter(pk=job.pk).update(
            status=RebuildJob.Status.FAILED,
            message=f"Failed: {error}"[:300],
            finished_at=timezone.now(),
        )
        return None
    job.refresh_from_db(fields=["publish"])
    verdict = "passed" if snapshot.audit_passed else "FAILED"
    message = f"Built {snapshot.cells.count()} cells; audit {verdict}"
    if (job.publish or job.series.auto_publish) and snapshot.audit_passed:
        try:
            snapshot_publish(snapshot_id=snapshot.pk, user=job.requested_by)
            message += "; published"
        except SnapshotNotPublishableError as error:
            message += f"; not published: {error}"
    RebuildJob.objects.filter(pk=job.pk).update(
        status=RebuildJob.Status.DONE,
        progress=100,
        message=message[:300],
        snapshot=snapshot,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    return snapshot


def rebuild_refresh(*, stale_after: timedelta | None = None) -> list[RebuildJob]:
    """Queue rebuilds of changed series, and requeue jobs whose worker stopped answering."""
    stale_after = stale_after or timedelta(
        seconds=getattr(settings, "TALLY_JOB_STALE_SECONDS", STALE_JOB_SECONDS)
    )
    cutoff = timezone.now() - stale_after
    jobs: list[RebuildJob] = []
    abandoned = RebuildJob.objects.filter(
        Q(status=RebuildJob.Status.RUNNING)
        & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
        # A queued job whose message was lost (broker restarted) is sent again: claims are
        # idempotent, so a duplicate message finds nothing to do.
        | Q(status=RebuildJob.Status.QUEUED, created_at__lt=cutoff)
    )
    for pk in abandoned.values_list("pk", flat=True):
        with transaction.atomic():
            job = RebuildJob.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if job is None or job.status not in (
                RebuildJob.Status.QUEUED,
                RebuildJob.Status.RUNNING,
            ):
                continue
            if job.status == RebuildJob.Status.RUNNING:
                job.status = RebuildJob.Status.QUEUED
                job.message = "Requeued: its worker stopped reporting progress"
                job.save(update_fields=["status", "message"])
            _queue(job.pk)
            jobs.append(job)
    taxonomy = selectors.taxonomy_version_applied()
    for series in stale_series(taxonomy=taxonomy):
        recently_failed = RebuildJob.objects.filter(
            series=series, status=RebuildJob.Status.FAILED, finished_at__gte=cutoff
        ).exists()
        if not recently_failed:  # a build that keeps failing is retried every few minutes
            jobs.append(rebuild_request(series_id=series.pk))
    return jobs


def _queue(job_id: int) -> None:
    from ..tasks import rebuild  # tasks import services: import here to keep that direction

    transaction.on_commit(lambda: rebuild.delay(job_id=job_id))


def rebuild_request(*, series_id: int, publish: bool = False, user: Any = None) -> RebuildJob:
    """Queue a rebuild of a series (or return the one already queued or running)."""
    try:
        with transaction.atomic():
            job = RebuildJob.objects.create(
                series_id=series_id,
                publish=publish,
                requested_by=user if getattr(user, "pk", None) else None,
            )
    except IntegrityError:
        job = RebuildJob.objects.get(series_id=series_id, status__in=["queued", "running"])
        if publish and not job.publish:
            RebuildJob.objects.filter(pk=job.pk).update(publish=True)
            job.publish = True
        return job
    _queue(job.pk)
    return job


def poll_due(*, series: Series, latest: Snapshot | None, taxonomy: int | None) -> bool:
    """Whether a poll series needs a new snapshot: results move in batches.

    Watching the standing change must not reveal one person's vote, so a poll gets a new
    snapshot only once at least k votes were cast, changed or curated since the last one, or,
    when fewer changed, once the last one is TALLY_POLL_REFRESH_SECONDS old.
    """
    since = latest.watermark if latest is not None else None
    changed = selectors.votes_changed_since(series_id=series.pk, since=since)
    if changed >= disclosure.k_for(series.k_threshold):
        return True
    if latest is None:
        return False
    if not changed and taxonomy == latest.taxonomy_version:
        return False
    age = timezone.now() - latest.created_at
    return age >= timedelta(seconds=settings.TALLY_POLL_REFRESH_SECONDS)


def latest_ready(series: Series) -> Snapshot | None:
    return (
        Snapshot.objects.filter(series=series, status=Snapshot.Status.READY)
        .order_by("-created_at", "-pk")
        .first()
    )


def stale_series(*, taxonomy: int | None = None) -> list[Series]:
    """Series whose accepted responses (or taxonomy) changed since their latest snapshot."""
    found = []
    for series in selectors.series_with_accepted_responses():
        latest = latest_ready(series)
        if selectors.series_is_poll(series_id=series.pk):
            if poll_due(series=series, latest=latest, taxonomy=taxonomy):
                found.append(series)
            continue
        state = selectors.accepted_state(series_id=series.pk)
        if (
            latest is None
            or (
                state["watermark"]
                and (not latest.watermark or state["watermark"] > latest.watermark)
            )
            or state["count"] != latest.response_count
            or taxonomy != latest.taxonomy_version
        ):
            found.append(series)
    return found
