"""Rebuild report snapshots in this process, with a progress bar."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from results.models import Snapshot
from results.services import SnapshotNotPublishableError, snapshot_build, snapshot_publish
from survey.models import Series


class Command(BaseCommand):
    help = "Rebuild the report snapshot of every series (or one), optionally publishing it."

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
            snapshot = self._build(item)
            self._report(snapshot)
            if publish:
                try:
                    snapshot_publish(snapshot_id=snapshot.pk)
                    self.stdout.write(f"  published snapshot {snapshot.pk}")
                except SnapshotNotPublishableError as error:
                    self.stderr.write(f"  not published: {error}")

    def _build(self, series: Series) -> Snapshot:
        with tqdm(total=100, desc=series.slug, unit="%", file=self.stderr._out) as bar:

            def progress(percent: int, message: str) -> None:
                bar.set_postfix_str(message)
                bar.update(max(0, percent - bar.n))

            snapshot = snapshot_build(series_id=series.pk, progress=progress)
            bar.update(100 - bar.n)
        return snapshot

    def _report(self, snapshot: Snapshot) -> None:
        cells = snapshot.cells.count()
        hidden = snapshot.cells.filter(flag__startswith="suppressed").count()
        audit = "passed" if snapshot.audit_passed else "FAILED"
        self.stdout.write(
            f"{snapshot.series.slug}: snapshot {snapshot.pk}, {snapshot.response_count} responses, "
            f"{cells} cells, {hidden} suppressed, audit {audit}"
        )
