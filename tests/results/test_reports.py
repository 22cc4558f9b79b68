from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from results import pagecache
from results.models import Cell
from results.services import snapshot_build, snapshot_publish
from tests.factories import cache_clear
from tests.results.factories import (
    LEAK,
    NEW_TEXT,
    OLD_TEXT,
    CellFactory,
    SeriesFactory,
    SnapshotFactory,
    census_snapshot,
)

URL = "/reports/ml-frameworks/"


@pytest.mark.django_db
def test_report_shows_the_headline_with_its_break_changes_and_method(client):
    snapshot = census_snapshot()
    response = client.get(URL)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>ML Framework Census</h1>" in page
    assert f'src="/reports/ml-frameworks/charts/headline.svg?v={snapshot.pk}"' in page
    # The 2018 wording is a break, said in words next to the chart.
    assert "The question changed between 2018 and 2022" in page
    assert OLD_TEXT in page and NEW_TEXT in page
    assert "No detectable change." in page
    assert "Is TensorFlow dead?" in page
    assert "Framework use by company size, 2026" in page
    assert "The sample is self-selected." in page
    assert "2026-03-01 to 2026-04-30" in page
    assert "newsletter: 500" in page and "conference: fewer than 10" in page
    assert "14 in all: straight-lining: fewer than 10; too fast: fewer than 10" in page
    assert "self-selection bias" in page
    assert "Licensed CC BY 4.0".lower() in page.lower()
    assert "Cite as:" in page and f"snapshot {snapshot.pk} published" in page
    assert 'href="/reports/ml-frameworks/cells.csv"' in page
    assert 'href="/reports/ml-frameworks/codebook.csv"' in page
    assert "Synthetic demo data" not in page


@pytest.mark.django_db
def test_every_chart_has_a_table_and_three_downloads(client):
    census_snapshot()
    page = client.get(URL).content.decode()
    charts = ["headline", "changes", "new-projects", "retention", "migration"]
    for name in [*charts, "breakdown-2026-company_size", "breakdown-2026-role"]:
        assert f'id="chart-{name}"' in page
        for ext in ("svg", "png", "csv"):
            assert f"/reports/ml-frameworks/charts/{name}.{ext}?v=" in page
    assert page.count("<table>") >= 8  # one per chart, plus the waves table
    assert "<script>" not in page and "style=" not in page


@pytest.mark.django_db
def test_suppressed_values_never_reach_the_page_and_say_why(client):
    census_snapshot()
    page = client.get(URL).content.decode()
    assert f"{LEAK * 100:.1f}%" not in page
    assert str(LEAK) not in page
    assert "Hidden to protect small groups" in page


@pytest.mark.django_db
def test_synthetic_series_says_so_on_the_page(client):
    census_snapshot(synthetic=True)
    page = client.get(URL).content.decode()
    assert "Synthetic demo data." in page
    assert "synthetic demo data" in page.lower()


@pytest.mark.django_db
def test_unknown_series_gets_a_clear_404_page(client):
    census_snapshot()
    response = client.get("/reports/no-such-series/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "No published report here" in page
    assert "no-such-series" in page
    assert 'href="/reports/ml-frameworks/"' in page


@pytest.mark.django_db
def test_series_with_only_an_unpublished_snapshot_is_a_404(client):
    census_snapshot(published=False)
    assert client.get(URL).status_code == 404
    assert "ML Framework Census" not in client.get("/reports/").content.decode()


@pytest.mark.django_db
def test_a_newer_ready_but_unpublished_snapshot_never_shows(client):
    published = census_snapshot(published_ago=timedelta(days=2))
    draft = SnapshotFactory(series=published.series, published_at=None)
    CellFactory(
        snapshot=draft,
        wave="2026",
        choice="pytorch",
        base_n=900,
        count=880,
        share=0.977777,
        ci_low=0.96,
        ci_high=0.99,
    )
    page = client.get(URL).content.decode()
    assert f"Snapshot {published.pk}," in page
    assert f"Snapshot {draft.pk}," not in page
    assert "97.8%" not in page


@pytest.mark.django_db
def test_reports_index_lists_only_published_series(client):
    census_snapshot(synthetic=True)
    SnapshotFactory(series=SeriesFactory(slug="draft-only", title="Draft Only"), published_at=None)
    page = client.get("/reports/").content.decode()
    assert 'href="/reports/ml-frameworks/"' in page
    assert "synthetic demo data" in page
    assert "Draft Only" not in page


@pytest.mark.django_db
def test_report_queries_do_not_grow_with_cells_and_never_touch_responses(
    client, django_assert_num_queries
):
    snapshot = census_snapshot()
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL).status_code == 200
    Cell.objects.bulk_create(
        Cell(
            snapshot=snapshot,
            wave="2026",
            question="domains",
            choice=f"c{i}",
            base_n=900,
            count=100,
            share=100 / 900,
        )
        for i in range(500)
    )
    cache_clear()  # rendered again, not the page kept for the snapshot
    pagecache.forget(pages=True)  # (nor the one this process kept, nor which snapshot it knew)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(URL)
    assert len(small.captured_queries) <= 4  # the page cache's snapshot id, then the render
    sql = " ".join(q["sql"] for q in small.captured_queries)
    assert "survey_response" not in sql and "survey_answer" not in sql


@pytest.mark.django_db
def test_the_report_page_is_rendered_once_per_snapshot(
    client, django_assert_num_queries, monkeypatch
):
    census_snapshot()
    first = client.get(URL)
    # Which snapshot is published is known for a second, the page is kept: no query at all.
    with django_assert_num_queries(0):
        again = client.get(URL)
    assert again.status_code == 200 and again.content == first.content
    assert again["Cache-Control"] == first["Cache-Control"] == "public, max-age=60"
    assert again["Content-Type"] == first["Content-Type"]
    pagecache.local_pages.clear()  # another process's first visit: from the shared cache
    with django_assert_num_queries(0):
        assert client.get(URL).content == first.content
    assert client.get(URL, {"wave": "2022"}).content != first.content  # rendered, not kept

    # Published by another process (written here without snapshot_publish): served once
    # this process asks again, at most LOOKUP_SECONDS later.
    newer = census_snapshot()
    assert f"snapshot {newer.pk} published" not in client.get(URL).content.decode()
    later = pagecache.clock() + pagecache.LOOKUP_SECONDS + 0.01
    monkeypatch.setattr(pagecache, "clock", lambda: later)
    assert f"snapshot {newer.pk} published" in client.get(URL).content.decode()


@pytest.mark.django_db
def test_a_snapshot_published_in_this_process_is_served_at_once(
    client, demo_series, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(pagecache, "clock", lambda: 1000.0)  # a build takes over a second
    url = f"/reports/{demo_series.slug}/"
    with django_capture_on_commit_callbacks(execute=True):
        first = snapshot_publish(snapshot_id=snapshot_build(series_id=demo_series.pk).pk)
    assert f"snapshot {first.pk} published" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        newer = snapshot_publish(snapshot_id=snapshot_build(series_id=demo_series.pk).pk)
    assert f"snapshot {newer.pk} published" in client.get(url).content.decode()


def test_the_process_keeps_pages_within_its_budget_and_their_time(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(pagecache, "clock", lambda: now[0])
    pages = pagecache.LocalPages(budget=10)
    pages.set("a", b"aaaa", "text/html", timeout=60)
    pages.set("b", b"bbbb", "text/html", timeout=60)
    assert pages.get("a") == (b"aaaa", "text/html")  # now the most recently used
    pages.set("c", b"cccc", "text/html", timeout=60)  # 12 bytes: the least recent goes
    assert pages.get("b") is None and pages.get("a") is not None and pages.used == 8
    pages.set("huge", b"x" * 11, "text/html", timeout=60)  # never kept
    pages.set("spent", b"s", "text/html", timeout=0)
    assert pages.get("huge") is None and pages.get("spent") is None
    now[0] += 61
    assert pages.get("a") is None and pages.get("c") is None and pages.used == 0


@pytest.mark.django_db
def test_the_dead_panel_sums_up_tensorflow_in_words(client):
    census_snapshot()
    page = client.get(URL).content.decode()
    assert "TensorFlow in this snapshot" in page
    assert "Used regularly by 31.0% of 2026 respondents" in page
    assert "Change from 2022 to 2026: -9.0 percentage points" in page
    assert "a detectable fall" in page
    assert "Chosen for new projects by 12.0%" in page
    assert "Still used by 36.8% of those who ever used it in 2026" in page


@pytest.mark.django_db
def test_weighted_series_shows_weighted_and_unweighted_side_by_side(client):
    snapshot = census_snapshot()
    snapshot.summary["weighting"] = {
        "enabled": True,
        "targets": [{"dimension": "region", "segment": "europe", "share": 0.25, "source": "ILO"}],
        "trim": [0.2, 5.0],
        "employer_cap": 3,
        "design_effect": {"2026": 1.42},
    }
    snapshot.save()
    snapshot.cells.filter(question="frameworks_used", wave="2026", dimension="").update(
        share_weighted=0.5, ci_low_weighted=0.45, ci_high_weighted=0.55, design_effect=1.42
    )
    page = client.get(URL).content.decode()
    assert "Weighted share" in page and "Design effect" in page
    assert "50.0%" in page and "45.0 to 55.0%" in page
    assert "region = europe: 25.0% (source: ILO)" in page
    assert "2026: 1.42" in page


@pytest.mark.django_db
def test_report_answers_head_requests_with_cache_headers(client):
    census_snapshot()
    response = client.head(URL)
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=60"


@pytest.mark.django_db
def test_missing_n_and_fielding_dates_are_said_in_words(client):
    from results.models import Snapshot

    snapshot = census_snapshot()
    summary = snapshot.summary
    waves = {wave["label"]: wave for wave in summary["waves"]}
    waves["2026"].update(n=None, fielded_to=None)
    waves["2022"].update(fielded_from=None, fielded_to=None)
    Snapshot.objects.filter(pk=snapshot.pk).update(summary=summary)
    page = client.get(URL).content.decode()
    assert "2026 (n below 10)" in page
    assert "n = ?" not in page and "? to" not in page
    assert "from 2026-03-01" in page
    assert "not recorded" in page


@pytest.mark.django_db
def test_a_breakdown_too_thin_to_publish_is_named_not_silently_dropped(client, demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    snapshot_publish(snapshot_id=snapshot.pk)
    thin = [key for key in snapshot.summary["withheld_breakdowns"]
            if len(key) == 3 and key[1] == "frameworks_used"]  # fmt: skip
    assert thin, "160 respondents a wave spread over 12 roles leave some breakdown too thin"
    wave, _, dimension = thin[0]
    page = client.get(f"/reports/{demo_series.slug}/", {"wave": wave}).content.decode()
    assert "Not broken down for" in page and dimension.replace("_", " ") in page
    shown = {c.dimension for c in snapshot.cells.filter(question="frameworks_used", wave=wave)}
    assert dimension not in shown
