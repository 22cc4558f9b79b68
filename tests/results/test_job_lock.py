"""Rebuild jobs under faults: a heartbeat while building, a configurable stale cutoff, the
command line under the workers' lock, and no partial snapshot when a build fails."""

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from results.models import RebuildJob, Snapshot
from results.services import build as services_build
from results.services import job_take, rebuild_refresh
from results.services.jobs import heartbeat


@pytest.mark.django_db(transaction=True)
def test_a_running_job_beats_while_its_build_runs(demo_series):
    long_ago = timezone.now() - timedelta(hours=1)
    job = RebuildJob.objects.create(
        series=demo_series, status=RebuildJob.Status.RUNNING, heartbeat_at=long_ago
    )
    with heartbeat(job.pk, every=0.2):
        time.sleep(0.8)
    job.refresh_from_db()
    assert job.heartbeat_at > long_ago + timedelta(minutes=59)


def test_the_stale_cutoff_is_a_setting(demo_series, settings):
    settings.TALLY_JOB_STALE_SECONDS = 20
    silent = timezone.now() - timedelta(seconds=25)
    job = RebuildJob.objects.create(
        series=demo_series, status=RebuildJob.Status.RUNNING, heartbeat_at=silent
    )
    assert job.pk in [j.pk for j in rebuild_refresh()]
    job.refresh_from_db()
    assert job.status == RebuildJob.Status.QUEUED


def test_the_command_line_claims_a_queued_job_and_waits_for_a_running_one(demo_series):
    queued = RebuildJob.objects.create(series=demo_series)
    job, mine = job_take(series_id=demo_series.pk, publish=True)
    assert (job.pk, mine, job.status) == (queued.pk, True, RebuildJob.Status.RUNNING)
    again, mine = job_take(series_id=demo_series.pk)
    assert (again.pk, mine) == (queued.pk, False)  # running elsewhere: not a second build


def test_the_rebuild_command_runs_as_a_job(demo_series, capsys):
    call_command("rebuild_reports", "--series", demo_series.slug, "--publish")
    job = RebuildJob.objects.get(series=demo_series)
    assert job.status == RebuildJob.Status.DONE
    assert Snapshot.objects.latest_published(demo_series) == job.snapshot
    assert Snapshot.objects.filter(series=demo_series).count() == 1


def test_a_build_failing_half_way_through_writing_cells_leaves_no_snapshot(
    demo_series, monkeypatch, capsys
):
    real_write = services_build.cells_write

    def half(*, snapshot_id, cells):
        real_write(snapshot_id=snapshot_id, cells=cells[: len(cells) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(services_build, "cells_write", half)
    call_command("rebuild_reports", "--series", demo_series.slug)
    assert Snapshot.objects.filter(series=demo_series).count() == 0
    job = RebuildJob.objects.get(series=demo_series)
    assert job.status == RebuildJob.Status.FAILED
    assert job.message == "Failed: OSError: disk full"  # what the admin's job list shows
    assert "disk full" in capsys.readouterr().err
