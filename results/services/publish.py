"""snapshot_publish: the explicit step that makes a ready snapshot public."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import disclosure, pagecache
from ..models import Snapshot

logger = logging.getLogger(__name__)


class SnapshotNotPublishableError(Exception):
    """The snapshot is not ready, or its disclosure audit fails."""


def snapshot_publish(*, snapshot_id: int, user: Any = None) -> Snapshot:
    """Publish a ready snapshot whose audit passes, re-run now on its stored cells."""
    with transaction.atomic():
        snapshot = Snapshot.objects.select_for_update().get(pk=snapshot_id)
        if snapshot.status != Snapshot.Status.READY:
            raise SnapshotNotPublishableError(f"{snapshot} is {snapshot.status}, not ready.")
        if snapshot.published_at is not None:
            return snapshot
        report = disclosure.audit(snapshot)
        if report["passed"]:
            snapshot.published_at = timezone.now()
            snapshot.published_by = user if getattr(user, "pk", None) else None
            snapshot.save(update_fields=["published_at", "published_by"])
        else:
            snapshot.audit_passed = False
            snapshot.audit_report = report
            snapshot.save(update_fields=["audit_passed", "audit_report"])
    if not report["passed"]:
        first = (report.get("violations") or report.get("summary_leaks") or [])[:1]
        raise SnapshotNotPublishableError(
            f"{snapshot} fails the disclosure audit: {report.get('violation_count', 0)} "
            f"problem(s), first {first}"
        )
    # This process serves it at once; the others within pagecache.LOOKUP_SECONDS.
    transaction.on_commit(pagecache.forget)
    logger.info("Published %s", snapshot)
    return snapshot
