"""Beat's job for the embedded default: look for new answers and rebuild, in this process."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from results.services import rebuild_refresh


class Command(BaseCommand):
    help = (
        "Rebuild (and, where the series says so, publish) every series with accepted "
        "responses newer than its last snapshot. Without a broker the rebuilds run here."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            metavar="SECONDS",
            help="Keep looking every SECONDS seconds (make run uses this without Redis).",
        )

    def handle(self, *args: Any, every: int = 0, **options: Any) -> None:
        while True:
            jobs = rebuild_refresh()
            if jobs or not every:
                self.stdout.write(f"Refresh: {len(jobs)} rebuild job(s) queued")
            if not every:
                return
            time.sleep(every)
