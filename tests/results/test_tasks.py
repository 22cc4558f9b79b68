from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from results.models import RebuildJob, Snapshot
from results.services import build as services_build
from results.services import rebuild_refresh, rebuild_request, snapshot_build, snapshot_publish
from results.tasks import rebuild, rebuild_queue, refresh
from survey.models import Response


def test_refresh_twice_queues_only_one_job(demo_series):
    first = rebuild_refresh()
    second = rebuild_refresh()
    assert len(first) == 1
    assert [job.pk for job in second] == [first[0].pk]
    assert RebuildJob.objects.filter(series=demo_series).count() == 1


def test_refresh_queues_nothing_when_the_snapshot_is_current(demo_series):
    snapshot_build(series_id=demo_series.pk)
    assert rebuild_refresh() == []


def test_refresh_sees_new_accepted_responses_through_the_watermark(demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    Response.objects.filter(pk=Response.objects.order_by("pk").first().pk).update(
        updated_at=snapshot.watermark + timedelta(seconds=5)
    )
    assert [job.series_id for job in rebuild_refresh()] == [demo_series.pk]


def test_refresh_sees_an_excluded_response(demo_series):
    snapshot_build(series_id=demo_series.pk)
    Response.objects.filter(pk=Response.objects.order_by("pk").first().pk).update(
        curation="excluded"
    )
    assert len(rebuild_refresh()) == 1


def test_a_rebuild_job_builds_and_publishes_when_the_series_auto_publishes(
    demo_series, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = rebuild_request(series_id=demo_series.pk)
        rebuild_queue([job])
    job.refresh_from_db()
    assert job.status == RebuildJob.Status.DONE
    assert job.progress == 100
    assert job.attempts == 1
    assert job.snapshot is not None
    assert "published" in job.message
    assert Snapshot.objects.latest_published(demo_series) == job.snapshot


def test_rebuild_of_a_job_that_is_gone_or_done_does_nothing(demo_series):
    job = RebuildJob.objects.create(series=demo_series, status=RebuildJob.Status.DONE)
    assert rebuild(job_id=job.pk) is None
    assert rebuild(job_id=999999) is None
    assert not Snapshot.objects.exists()


def test_a_stale_running_job_is_requeued_and_completed(
    demo_series, eager_tasks, django_capture_on_commit_callbacks
):
    long_ago = timezone.now() - timedelta(minutes=30)
    job = RebuildJob.objects.create(
        series=demo_series,
        status=RebuildJob.Status.RUNNING,
        attempts=1,
        started_at=long_ago,
        heartbeat_at=long_ago,
    )
    with django_capture_on_commit_callbacks(execute=True):
        refresh()
    job.refresh_from_db()
    assert job.status == RebuildJob.Status.DONE
    assert job.attempts == 2
    assert RebuildJob.objects.filter(series=demo_series).count() == 1


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(demo_series):
    job = RebuildJob.objects.create(
        series=demo_series, status=RebuildJob.Status.RUNNING, heartbeat_at=timezone.now()
    )
    rebuild_refresh()
    job.refresh_from_db()
    assert job.status == RebuildJob.Status.RUNNING


def test_a_failing_build_leaves_the_last_published_snapshot_serving(
    demo_series, eager_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    published = snapshot_publish(snapshot_id=snapshot_build(series_id=demo_series.pk).pk)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services_build, "wave_figures", broken)
    with django_capture_on_commit_callbacks(execute=True):
        job = rebuild_request(series_id=demo_series.pk, publish=True)
        rebuild_queue([job])
    job.refresh_from_db()
    assert job.status == RebuildJob.Status.FAILED
    assert "disk on fire" in job.message
    assert Snapshot.objects.latest_published(demo_series) == published
    assert Snapshot.objects.filter(series=demo_series).count() == 1


def test_rebuild_reports_command_builds_publishes_and_summarizes(demo_series, capsys):
    call_command("rebuild_reports", "--series", demo_series.slug, "--publish")
    out = capsys.readouterr().out
    assert "audit passed" in out
    assert "hidden" in out
    assert Snapshot.objects.latest_published(demo_series) is not None


def test_rebuild_reports_refuses_an_unknown_series_with_exit_code_2(db):
    with pytest.raises(CommandError) as error:
        call_command("rebuild_reports", "--series", "nope")
    assert error.value.returncode == 2
    assert "Unknown series 'nope'" in str(error.value)
