"""Snapshot builds and publishing: the multi-row writes of results.

snapshot_build reads through survey.selectors (aggregates come back from SQL GROUP BY),
weights, estimates, protects through results.disclosure, and writes the snapshot and its
cells in one transaction. Nothing here loops over responses.
"""

from .build import BUILD_VERSION, Progress, snapshot_build
from .jobs import (
    ABANDONED,
    TRANSIENT_ERRORS,
    job_claim,
    job_run,
    job_take,
    jobs_abandon,
    latest_ready,
    poll_due,
    rebuild_refresh,
    rebuild_request,
    refresh_record,
    refresh_state,
    stale_job_seconds,
    stale_series,
)
from .publish import SnapshotNotPublishableError, snapshot_publish

__all__ = [
    "ABANDONED",
    "BUILD_VERSION",
    "TRANSIENT_ERRORS",
    "Progress",
    "SnapshotNotPublishableError",
    "job_claim",
    "job_run",
    "job_take",
    "latest_ready",
    "poll_due",
    "jobs_abandon",
    "rebuild_refresh",
    "rebuild_request",
    "refresh_record",
    "refresh_state",
    "snapshot_build",
    "snapshot_publish",
    "stale_job_seconds",
    "stale_series",
]
