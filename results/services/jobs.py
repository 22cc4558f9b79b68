"""Rebuild jobs: requests, claims under a row lock, runs, and the refresh that finds work."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from survey import selectors
from survey.models import Series

from .. import disclosure
from ..models import RebuildJob, RefreshStatus, Snapshot
from .build import Progress, snapshot_build
from .publish import SnapshotNotPublishableError, snapshot_publish

logger = logging.getLogger(__name__)

LOST_MESSAGE_SECONDS = 300  # a job queued this long had its message lost: send it again
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
# A job its runner gave up on (the in-process refresh failed around it): the next tick may
# queue the series again at once, unlike a build that failed on its own.
ABANDONED = "Abandoned"


def stale_job_seconds() -> int:
    """Silent this long, a running job lost its worker (settings.TALLY_JOB_STALE_SECONDS)."""
    return settings.TALLY_JOB_STALE_SECONDS


@contextmanager
def heartbeat(job_id: int, *, every: float | None = None) -> Iterator[None]:
    """Touch the job's heartbeat from a thread while the body runs (builds report progress
    only between stages, and a stage can take longer than the stale cutoff)."""
    every = every or max(1.0, stale_job_seconds() / 5)
    done = threading.Event()

    def beat() -> None:
        try:
            while not done.wait(every):
                try:
                    RebuildJob.objects.filter(pk=job_id, status=RebuildJob.Status.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except TRANSIENT_ERRORS:
                    logger.warning("Rebuild job %s: heartbeat not recorded", job_id)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=10)


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


def job_take(*, series_id: int, publish: bool = False) -> tuple[RebuildJob, bool]:
    """The command line's way in, under the same lock as the workers: a new running job for
    the series, or its queued job claimed here. (job, True) when this process now runs it;
    (the open job, False) when a worker is running one already."""
    for _ in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                job = RebuildJob.objects.create(
                    series_id=series_id,
                    publish=publish,
                    status=RebuildJob.Status.RUNNING,
                    attempts=1,
                    started_at=now,
                    heartbeat_at=now,
                    message="Started from the command line",
                )
            return RebuildJob.objects.select_related("series").get(pk=job.pk), True
        except IntegrityError:
            pass
        open_job = (
            RebuildJob.objects.select_related("series")
            .filter(series_id=series_id, status__in=["queued", "running"])
            .first()
        )
        if open_job is None:
            continue  # it finished between the two statements: try again
        if publish and not open_job.publish:
            RebuildJob.objects.filter(pk=open_job.pk).update(publish=True)
        if open_job.status == RebuildJob.Status.QUEUED:
            claimed = job_claim(job_id=open_job.pk)
            if claimed is not None:
                return claimed, True
            continue
        return open_job, False
    raise RuntimeError(f"Could not take a rebuild job for series {series_id}")


def job_run(*, job: RebuildJob, progress: Progress | None = None) -> Snapshot | None:
    """Build the job's series, publish if asked (and the audit passes), close the job.

    Transient database errors put the job back in the queue and propagate, for the task to
    retry; any other failure marks the job failed (saying why, in the admin) and leaves the
    published snapshot alone. The snapshot and its cells are written in one transaction, so
    a build that fails half way leaves nothing behind.
    """
    try:
        with heartbeat(job.pk):
            snapshot = snapshot_build(series_id=job.series_id, job_id=job.pk, progress=progress)
            RebuildJob.objects.filter(pk=job.pk).update(snapshot=snapshot)
            job.refresh_from_db(fields=["publish"])
            verdict = "passed" if snapshot.audit_passed else "FAILED"
            message = f"Built {snapshot.cells.count()} cells; audit {verdict}"
            if (job.publish or job.series.auto_publish) and snapshot.audit_passed:
                try:
                    snapshot_publish(snapshot_id=snapshot.pk, user=job.requested_by)
                    message += "; published"
                except SnapshotNotPublishableError as error:
                    message += f"; not published: {error}"
    except TRANSIENT_ERRORS:
        logger.warning("Rebuild job %s: database unavailable, requeued", job.pk, exc_info=True)
        try:
            RebuildJob.objects.filter(pk=job.pk, status=RebuildJob.Status.RUNNING).update(
                status=RebuildJob.Status.QUEUED, message="Database unavailable: retrying"
            )
        except TRANSIENT_ERRORS:
            pass  # still down: the stale cutoff requeues it
        raise
    except Exception as error:
        logger.exception("Rebuild job %s failed", job.pk)
        RebuildJob.objects.filter(pk=job.pk).update(
            status=RebuildJob.Status.FAILED,
            message=f"Failed: {type(error).__name__}: {error}"[:300],
            finished_at=timezone.now(),
        )
        return None
    # Only while the job is still this run's: a run that lost it (requeued after its
    # heartbeat stopped, taken by another worker) must not close the other run's job.
    RebuildJob.objects.filter(pk=job.pk, attempts=job.attempts).update(
        status=RebuildJob.Status.DONE,
        progress=100,
        message=message[:300],
        snapshot=snapshot,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    return snapshot


def jobs_abandon(*, since: datetime, reason: str) -> int:
    """Mark failed the open jobs this runner created or started since `since` and gave up on,
    so the next refresh queues their series again instead of waiting for the stale cutoff."""
    return RebuildJob.objects.filter(
        Q(created_at__gte=since) | Q(started_at__gte=since),
        status__in=[RebuildJob.Status.QUEUED, RebuildJob.Status.RUNNING],
    ).update(
        status=RebuildJob.Status.FAILED,
        message=f"{ABANDONED} by the refresh: {reason}"[:300],
        finished_at=timezone.now(),
    )


def rebuild_refresh(*, stale_after: timedelta | None = None) -> list[RebuildJob]:
    """Jobs to send to a worker: rebuilds of changed series, and jobs whose worker stopped
    answering (put back in the queue). The caller sends them (results.tasks.rebuild_queue)."""
    stale_after = stale_after or timedelta(seconds=stale_job_seconds())
    now = timezone.now()
    cutoff = now - stale_after
    lost_cutoff = now - max(stale_after, timedelta(seconds=LOST_MESSAGE_SECONDS))
    retry_cutoff = now - timedelta(seconds=LOST_MESSAGE_SECONDS)
    jobs: list[RebuildJob] = []
    abandoned = RebuildJob.objects.filter(
        Q(status=RebuildJob.Status.RUNNING)
        & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
        # A queued job whose message was lost (broker restarted) is sent again: claims are
        # idempotent, so a duplicate message finds nothing to do.
        | Q(status=RebuildJob.Status.QUEUED, created_at__lt=lost_cutoff)
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
            jobs.append(job)
    taxonomy = selectors.taxonomy_version_applied()
    for series in stale_series(taxonomy=taxonomy):
        recently_failed = (
            RebuildJob.objects.filter(
                series=series, status=RebuildJob.Status.FAILED, finished_at__gte=retry_cutoff
            )
            .exclude(message__startswith=ABANDONED)
            .exists()
        )
        if not recently_failed:  # a build that keeps failing is retried every few minutes
            jobs.append(rebuild_request(series_id=series.pk))
    return jobs


def rebuild_request(*, series_id: int, publish: bool = False, user: Any = None) -> RebuildJob:
    """A queued rebuild job for a series (or the one already queued or running).

    The caller sends it to a worker (results.tasks.rebuild_queue): services never queue.
    """
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
            or _publication_abandoned(series, latest)
        ):
            found.append(series)
    return found


def refresh_record(*, name: str, interval: int, error: BaseException | None = None) -> None:
    """Note one tick of a periodic refresh runner, successful or not (never raises)."""
    now = timezone.now()
    try:
        status, _ = RefreshStatus.objects.get_or_create(
            name=name, defaults={"interval_seconds": interval}
        )
        status.interval_seconds = interval
        if error is None:
            status.last_success_at = now
            status.failures_in_a_row = 0
        else:
            status.last_failure_at = now
            status.last_error = f"{type(error).__name__}: {error}"[:300]
            status.failures_in_a_row += 1
        status.save()
    except Exception:  # noqa: BLE001 (the database may be what failed)
        logger.warning("Could not record the %s refresh's state", name, exc_info=True)


def refresh_state(now: datetime | None = None) -> list[dict[str, Any]]:
    """Each refresh runner: when it last succeeded, and whether that is two intervals ago."""
    now = now or timezone.now()
    return [
        {
            "name": status.name,
            "last_success_at": status.last_success_at.isoformat()
            if status.last_success_at
            else None,
            "last_error": status.last_error if status.failures_in_a_row else "",
            "stale": status.is_stale(now),
        }
        for status in RefreshStatus.objects.order_by("name")
    ]


def _publication_abandoned(series: Series, latest: Snapshot) -> bool:
    """Built and passing, but the runner gave up while publishing it: publish it again."""
    return (
        series.auto_publish
        and bool(latest.audit_passed)
        and latest.published_at is None
        and RebuildJob.objects.filter(
            snapshot=latest, status=RebuildJob.Status.FAILED, message__startswith=ABANDONED
        ).exists()
    )
