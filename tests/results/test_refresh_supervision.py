"""The periodic refresh is supervised: a failed tick is logged, recorded and retried, and a
refresh that has not succeeded for two intervals is visible in /healthz and the admin."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from results.management.commands.refresh_reports import Command
from results.models import RebuildJob, RefreshStatus, Snapshot
from results.services import ABANDONED
from results.services import jobs as services_jobs


@pytest.mark.django_db(transaction=True)  # commits run their callbacks, as in make run
def test_a_failed_tick_marks_its_job_failed_and_the_next_tick_takes_the_series(
    demo_series, eager_tasks, monkeypatch, caplog
):
    """Proves: the in-process loop survives a tick that fails while publishing (the SQLite
    "database is locked" of the issue), marks the job it abandoned failed instead of leaving
    it "Running 95%", and the next tick rebuilds and publishes."""
    real_publish = services_jobs.snapshot_publish

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(services_jobs, "snapshot_publish", locked)
    command = Command()
    assert command.tick(5) is False
    job = RebuildJob.objects.get(series=demo_series)
    assert job.status == RebuildJob.Status.FAILED
    assert job.message.startswith(ABANDONED)
    assert "database is locked" in caplog.text
    status = RefreshStatus.objects.get(name="in-process")
    assert status.failures_in_a_row == 1
    assert "database is locked" in status.last_error

    monkeypatch.setattr(services_jobs, "snapshot_publish", real_publish)
    assert command.tick(5) is True
    latest = RebuildJob.objects.filter(series=demo_series).order_by("-pk").first()
    assert latest.pk != job.pk
    assert latest.status == RebuildJob.Status.DONE
    assert Snapshot.objects.latest_published(demo_series) == latest.snapshot
    status.refresh_from_db()
    assert status.failures_in_a_row == 0
    assert status.last_success_at is not None


def test_a_build_that_fails_on_its_own_is_not_retried_at_every_tick(
    demo_series, eager_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(**kwargs):
        raise ValueError("a bug in a build")

    monkeypatch.setattr(services_jobs, "snapshot_build", broken)
    command = Command()
    with django_capture_on_commit_callbacks(execute=True):
        assert command.tick(5) is True  # the job failed, not the refresh
        assert command.tick(5) is True
    jobs = RebuildJob.objects.filter(series=demo_series)
    assert [job.status for job in jobs] == [RebuildJob.Status.FAILED]
    assert "ValueError: a bug in a build" in jobs[0].message


def test_healthz_and_the_admin_show_a_refresh_that_has_not_succeeded_for_two_intervals(
    admin_client, client, db
):
    status = RefreshStatus.objects.create(name="in-process", interval_seconds=60)
    RefreshStatus.objects.filter(pk=status.pk).update(
        created_at=timezone.now() - timedelta(hours=1),
        last_success_at=timezone.now() - timedelta(seconds=121),
        last_error="OperationalError: database is locked",
        failures_in_a_row=2,
    )
    health = client.get("/healthz").json()
    assert health["refresh_stale"] is True
    assert health["refresh"][0]["last_error"] == "OperationalError: database is locked"
    page = admin_client.get("/admin/results/rebuildjob/").content.decode()
    assert "has not succeeded for over two intervals" in page

    RefreshStatus.objects.filter(pk=status.pk).update(last_success_at=timezone.now())
    assert client.get("/healthz").json()["refresh_stale"] is False
    page = admin_client.get("/admin/results/rebuildjob/").content.decode()
    assert "has not succeeded" not in page
