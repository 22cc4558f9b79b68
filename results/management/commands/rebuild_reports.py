"""Rebuild report snapshots in this process, with a progress bar, under the workers' job lock."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from results import disclosure
from results.models import RebuildJob, Snapshot
from results.services import SnapshotNotPublishableError, job_run, job_take, snapshot_publish
from survey.models import Series

WAIT_POLL_SECONDS = 1


class Command(BaseCommand):
    help = (
        "Rebuild the report snapshot of every series (or one), optionally publishing it. "
        "It takes the same job lock as the workers: when a worker is already rebuilding a "
        "series, this waits for that job instead of building a second snapshot."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--series", help="Slug of the one series to rebuild.")
        parser.add_argument(
            "--publish", action="store_true", help="Publish each snapshot that passes its audit."
        )

    def handle(self, *args: Any, series: str | None = None, publish: bool = False, **options: Any):
        found = Series.objects.order_by("slug")
        if series:
            found = found.filter(slug=series)
            if not found.exists():
                raise CommandError(f"Unknown series {series!r}.", returncode=2)
        for item in found:
            snapshot = self._build(item, publish)
            if snapshot is None:
                continue
            self._report(snapshot)
            if publish and snapshot.published_at is None:
                try:
                    snapshot_publish(snapshot_id=snapshot.pk)
                    self.stdout.write(f"  published snapshot {snapshot.pk}")
                except SnapshotNotPublishableError as error:
                    self.stderr.write(f"  not published: {error}")
            elif snapshot.published_at is not None:
                self.stdout.write(f"  published snapshot {snapshot.pk}")

    def _build(self, series: Series, publish: bool) -> Snapshot | None:
        job, mine = job_take(series_id=series.pk, publish=publish)
        if not mine:
            self.stderr.write(
                f"{series.slug}: a worker is rebuilding it (job {job.pk}); waiting for that job"
            )
            return self._wait(job)
        with tqdm(total=100, desc=series.slug, unit="%", file=self.stderr._out) as bar:

            def progress(percent: int, message: str) -> None:
                bar.set_postfix_str(message)
                bar.update(max(0, percent - bar.n))

            snapshot = job_run(job=job, progress=progress)
            bar.update(100 - bar.n)
        if snapshot is None:
            job.refresh_from_db(fields=["message"])
            self.stderr.write(f"{series.slug}: {job.message}")
            return None
        snapshot.refresh_from_db()
        return snapshot

    def _wait(self, job: RebuildJob) -> Snapshot | None:
        while True:
            job.refresh_from_db()
            if job.status == RebuildJob.Status.DONE:
                return job.snapshot
            if job.status == RebuildJob.Status.FAILED:
                self.stderr.write(f"{job.series.slug}: job {job.pk}: {job.message}")
                return None
            if job.status == RebuildJob.Status.QUEUED:  # requeued: take it ourselves
                return self._build(job.series, job.publish)
            time.sleep(WAIT_POLL_SECONDS)

    def _report(self, snapshot: Snapshot) -> None:
        cells = snapshot.cells.count()
        hidden = snapshot.cells.filter(flag=disclosure.HIDDEN).count()
        audit = "passed" if snapshot.audit_passed else "FAILED"
        self.stdout.write(
            f"{snapshot.series.slug}: snapshot {snapshot.pk}, {snapshot.response_count} responses, "
            f"{cells} cells, {hidden} hidden, audit {audit}"
        )
