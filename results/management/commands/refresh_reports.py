"""Beat's job for the embedded default: look for new answers and rebuild, in this process."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from results.services import jobs_abandon, rebuild_refresh, refresh_record
from results.tasks import rebuild_queue

logger = logging.getLogger("results.refresh")


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
            help="Keep looking every SECONDS seconds (make run uses this without Redis); "
            "a failed tick is logged and retried on the next one.",
        )

    def handle(self, *args: Any, every: int = 0, **options: Any) -> None:
        if every < 0:
            raise CommandError("--every takes a number of seconds >= 0.", returncode=2)
        if not every:
            jobs = rebuild_refresh()
            rebuild_queue(jobs)
            refresh_record(name="in-process", interval=settings.TALLY_REFRESH_SECONDS)
            self.stdout.write(f"Refresh: {len(jobs)} rebuild job(s) queued")
            return
        logger.info("Refreshing reports every %d s", every)
        while True:
            self.tick(every)
            time.sleep(every)

    def tick(self, every: int) -> bool:
        """One supervised refresh: True when it succeeded. Never raises (but on Ctrl-C)."""
        started = timezone.now()
        try:
            jobs = rebuild_refresh()
            rebuild_queue(jobs)  # without a broker the builds run here, inside the guard
        except Exception as error:  # noqa: BLE001 (a failed tick must not end the loop)
            logger.exception("Refresh failed; retrying in %d s", every)
            try:
                abandoned = jobs_abandon(since=started, reason=f"{type(error).__name__}: {error}")
                if abandoned:
                    logger.warning("Marked %d abandoned rebuild job(s) failed", abandoned)
            except Exception:  # noqa: BLE001
                logger.warning("Could not mark the abandoned jobs", exc_info=True)
            refresh_record(name="in-process", interval=every, error=error)
            connection.close()  # a broken connection is replaced on the next tick
            return False
        refresh_record(name="in-process", interval=every)
        if jobs:
            logger.info("Refresh: %d rebuild job(s) queued and run", len(jobs))
        return True
