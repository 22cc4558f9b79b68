"""Snapshot builds and publishing: the multi-row writes of results.

snapshot_build reads through survey.selectors (aggregates come back from SQL GROUP BY),
weights, estimates, protects through results.disclosure, and writes the snapshot and its
cells in one transaction. Nothing here loops over responses.
"""

from .build import BUILD_VERSION, Progress, snapshot_build
from .jobs import (
    STALE_JOB_SECONDS,
    TRANSIENT_ERRORS,
    job_claim,
    job_run,
    latest_ready,
    poll_due,
    rebuild_refresh,
    rebuild_request,
    stale_series,
)
from .publish import SnapshotNotPublishableError, snapshot_publish

__all__ = [
    "BUILD_VERSION",
    "STALE_JOB_SECONDS",
    "TRANSIENT_ERRORS",
    "Progress",
    "SnapshotNotPublishableError",
    "job_claim",
    "job_run",
    "latest_ready",
    "poll_due",
    "rebuild_refresh",
    "rebuild_request",
    "snapshot_build",
    "snapshot_publish",
    "stale_series",
]
