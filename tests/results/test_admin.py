from django.contrib.auth import get_user_model

from results.models import Cell, RebuildJob, Snapshot, WeightingTarget
from results.services import snapshot_build, snapshot_publish


def test_snapshot_preview_shows_summary_and_changes_against_the_published(
    admin_client, demo_series
):
    published = snapshot_publish(snapshot_id=snapshot_build(series_id=demo_series.pk).pk)
    fresh = snapshot_build(series_id=demo_series.pk)
    cell = fresh.cells.filter(measure="share", flag="").exclude(share=None).first()
    Cell.objects.filter(pk=cell.pk).update(share=cell.share + 0.01)
    page = admin_client.get(f"/admin/results/snapshot/{fresh.pk}/change/").content.decode()
    assert f"Against {published}" in page
    assert "1 changed" in page
    assert "Publish this snapshot" in page
    assert "Synthetic data." in page


def test_publish_button_publishes_a_passing_snapshot(admin_client, demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    response = admin_client.post(f"/admin/results/snapshot/{snapshot.pk}/publish/", follow=True)
    snapshot.refresh_from_db()
    assert snapshot.published_at is not None
    assert "is published" in response.content.decode()


def test_publish_button_refuses_a_snapshot_whose_audit_fails(admin_client, demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    hidden = snapshot.cells.filter(flag="hidden").first()
    Cell.objects.filter(pk=hidden.pk).update(count=2, flag="")
    response = admin_client.post(f"/admin/results/snapshot/{snapshot.pk}/publish/", follow=True)
    snapshot.refresh_from_db()
    assert snapshot.published_at is None
    assert "fails the disclosure audit" in response.content.decode()


def test_publish_refuses_a_get(admin_client, demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    admin_client.get(f"/admin/results/snapshot/{snapshot.pk}/publish/")
    snapshot.refresh_from_db()
    assert snapshot.published_at is None


def test_snapshot_list_shows_audit_and_cell_count(admin_client, demo_series):
    snapshot_build(series_id=demo_series.pk)
    page = admin_client.get("/admin/results/snapshot/").content.decode()
    assert str(Snapshot.objects.get().cells.count()) in page


def test_rebuild_now_queues_a_job_for_the_series(
    admin_client, demo_series, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/results/rebuildjob/add/", {"series": demo_series.pk, "publish": "on"}
        )
    assert response.status_code == 302
    job = RebuildJob.objects.get()
    assert job.status == RebuildJob.Status.DONE
    assert job.requested_by == get_user_model().objects.get(username="admin")
    assert Snapshot.objects.latest_published(demo_series) == job.snapshot
    page = admin_client.get("/admin/results/rebuildjob/").content.decode()
    assert "100%" in page


def test_weighting_targets_need_a_source(admin_client, demo_series):
    response = admin_client.post(
        "/admin/results/weightingtarget/add/",
        {"series": demo_series.pk, "dimension": "region", "segment": "europe", "share": "0.4"},
    )
    assert response.status_code == 200
    assert not WeightingTarget.objects.exists()
    admin_client.post(
        "/admin/results/weightingtarget/add/",
        {
            "series": demo_series.pk,
            "dimension": "region",
            "segment": "europe",
            "share": "0.4",
            "source": "Census bureau 2025",
        },  # fmt: skip
    )
    assert WeightingTarget.objects.get().source == "Census bureau 2025"


def test_the_published_snapshot_says_it_is_the_one_published(admin_client, demo_series):
    published = snapshot_publish(snapshot_id=snapshot_build(series_id=demo_series.pk).pk)
    page = admin_client.get(f"/admin/results/snapshot/{published.pk}/change/").content.decode()
    assert "This is the published snapshot of" in page
    assert "Nothing is published for this series yet" not in page


def test_a_superseded_snapshot_is_not_labelled_published(admin_client, demo_series):
    old = snapshot_publish(snapshot_id=snapshot_build(series_id=demo_series.pk).pk)
    new = snapshot_publish(snapshot_id=snapshot_build(series_id=demo_series.pk).pk)
    page = admin_client.get(f"/admin/results/snapshot/{old.pk}/change/").content.decode()
    assert f"Superseded by {new}" in page
    assert "This is the published snapshot" not in page
    listing = admin_client.get("/admin/results/snapshot/").content.decode()
    assert listing.count(">superseded<") == 1 and listing.count(">published<") == 1


def test_the_snapshot_summary_is_readable_not_a_json_blob(admin_client, demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    page = admin_client.get(f"/admin/results/snapshot/{snapshot.pk}/change/").content.decode()
    assert "{&quot;" not in page and '{"' not in page
    assert "Wave" in page and "k = " in page
