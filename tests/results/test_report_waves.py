"""Which wave speaks: the latest with enough answers; quieter waves say how many they need."""

from typing import cast

import pytest

from results.models import Cell, Snapshot
from results.selectors import report_build
from results.spec import default_spec, min_answers_for, spec_for, spec_load
from survey.census import REPORT_SPEC
from survey.poll_services import poll_report_spec
from tests.results.factories import SeriesFactory, SnapshotFactory, census_snapshot, share_cell

URL = "/reports/ml-frameworks/"


def _quiet_census(answered: int = 30) -> Snapshot:
    """The Census series with its open 2026 wave holding only `answered` answers."""
    snapshot = census_snapshot()
    summary = snapshot.summary
    latest = next(wave for wave in summary["waves"] if wave["label"] == "2026")
    latest.update(n=answered, fielded_from="2026-11-01", fielded_to=None)
    Snapshot.objects.filter(pk=snapshot.pk).update(summary=summary)
    for cell in snapshot.cells.filter(
        measure="share", wave="2026", question="frameworks_used", dimension=""
    ):
        cell.base_n, cell.count = answered, min(cell.count or 0, answered)
        cell.share = cell.count / answered
        cell.save()
    # 2022 breakdowns, so the 2022 wave that speaks has some.
    Cell.objects.bulk_create(
        share_cell(
            120 if segment == "0-49" else 80,
            300,
            snapshot=snapshot,
            wave="2022",
            question="frameworks_used",
            choice=choice,
            dimension="company_size",
            segment=segment,
        )
        for segment in ("0-49", "50-249")
        for choice in ("pytorch", "tensorflow")
    )
    snapshot.refresh_from_db()
    return snapshot


@pytest.mark.django_db
def test_the_latest_wave_with_enough_answers_speaks_and_says_so(client):
    _quiet_census()
    page = client.get(URL).content.decode()
    assert (
        "Rankings and latest figures: 2022, the latest wave with enough answers; the ML "
        "Framework Census 2026 is open with n = 30." in page
    )
    assert "Not drawn: 2026, not enough answers yet: 30 of 100 needed." in page
    assert "Breakdowns, 2022" in page
    assert 'id="chart-breakdown-2022-company_size"' in page


@pytest.mark.django_db
def test_the_ranking_comes_from_the_wave_that_speaks():
    report = report_build(_quiet_census())
    assert report.speaking_wave == "2022"
    assert report.headline.order == ["scikit-learn", "PyTorch", "TensorFlow", "Keras", "JAX"]
    assert {row["wave"] for row in report.headline.rows} == {"2018", "2022"}
    assert report.headline.subtitle.endswith("the 5 most used in 2022. Bars show 95% intervals.")
    assert all("2026" not in (row["wave"], row["compare_wave"]) for row in report.changes.rows)


@pytest.mark.django_db
def test_measures_only_a_quiet_wave_has_show_their_state_instead_of_an_empty_chart(client):
    report = report_build(_quiet_census())
    retention = report.chart("retention")
    assert retention.rows == []
    assert retention.empty == "2026: not enough answers yet: 30 of 100 needed"
    page = client.get(URL).content.decode()
    assert "2026: not enough answers yet: 30 of 100 needed." in page
    assert "/charts/retention.svg" not in page
    assert client.get("/reports/ml-frameworks/charts/retention.svg").status_code == 404


@pytest.mark.django_db
def test_a_chart_in_its_not_enough_state_names_no_wave_in_its_title():
    report = report_build(_quiet_census())
    migration = report.chart("migration")
    assert migration.rows == [] and migration.empty
    assert migration.title == "Where did switchers go?"


@pytest.mark.django_db
def test_breakdowns_switch_waves_with_plain_links(client):
    _quiet_census()
    page = client.get(URL).content.decode()
    assert 'href="/reports/ml-frameworks/?wave=2018#breakdowns-h"' in page
    assert '<strong aria-current="page">2022</strong>' in page
    quiet = client.get(URL, {"wave": "2026"}).content.decode()
    assert "Breakdowns, 2026" in quiet
    assert "2026: not enough answers yet: 30 of 100 needed." in quiet
    assert "chart-breakdown-2026" not in quiet
    unknown = client.get(URL, {"wave": "<b>1999</b>"})
    assert unknown.status_code == 200
    assert "This report has no wave “&lt;b&gt;1999&lt;/b&gt;”; showing 2022." in (
        unknown.content.decode()
    )


@pytest.mark.django_db
def test_a_hidden_count_says_fewer_than_k():
    snapshot = _quiet_census()
    snapshot.cells.filter(
        measure="share", wave="2026", question="frameworks_used", dimension=""
    ).update(flag="hidden", base_n=None)
    report = report_build(snapshot)
    assert report.state("2026").shortfall == "not enough answers yet: fewer than 10 of 100 needed"


def _quiet_series() -> Snapshot:
    series = SeriesFactory(slug="quiet", title="Quiet Census", report_spec=REPORT_SPEC)
    snapshot = cast(Snapshot, SnapshotFactory(series=series))
    summary = snapshot.summary
    summary["waves"] = [w for w in summary["waves"] if w["label"] == "2026"]
    summary["waves"][0].update(n=30, fielded_to=None)
    Snapshot.objects.filter(pk=snapshot.pk).update(summary=summary)
    Cell.objects.bulk_create(
        [
            share_cell(
                12, 30, snapshot=snapshot, wave="2026", question="frameworks_used", choice="pytorch"
            ),
            share_cell(
                0,
                30,
                snapshot=snapshot,
                wave="2026",
                question="frameworks_used",
                choice="tensorflow",
            ),
        ]  # fmt: skip
    )
    return snapshot


@pytest.mark.django_db
def test_a_series_without_a_wave_that_speaks_shows_its_state_not_empty_charts(client):
    _quiet_series()
    page = client.get("/reports/quiet/").content.decode()
    assert "Not enough answers yet" in page
    assert "Not enough answers yet: 30 of 100 needed." in page
    assert "<img" not in page and "0.0%" not in page
    assert "Breakdowns" not in page


@pytest.mark.django_db
def test_listings_say_a_series_has_not_enough_answers_yet(client, django_assert_max_num_queries):
    _quiet_series()
    census_snapshot()
    with django_assert_max_num_queries(8):
        home = client.get("/").content.decode()
    assert home.count("Not enough answers yet: 30 of 100 needed.") == 1
    assert "Not enough answers yet" in client.get("/reports/").content.decode()


@pytest.mark.django_db
def test_the_threshold_is_ten_k_unless_the_spec_asks_for_more():
    spec = spec_load(REPORT_SPEC)
    assert min_answers_for(spec, 10) == 100
    assert min_answers_for(spec, 5) == 50
    assert min_answers_for(spec_load({**REPORT_SPEC, "min_answers": 400}), 10) == 400


def test_a_spec_cannot_lower_the_threshold_below_ten_k():
    assert min_answers_for(spec_load({**REPORT_SPEC, "min_answers": 30}), 10) == 100


def test_a_poll_series_needs_ten_k_votes_like_any_series():
    assert min_answers_for(spec_load(poll_report_spec("answer")), 10) == 100


@pytest.mark.django_db
def test_a_series_without_a_spec_gets_the_generic_report():
    series = SeriesFactory(slug="plain", report_spec={})
    spec = spec_for(series)
    assert spec == default_spec("")
    assert [c.name for c in spec.charts] == ["headline", "changes", "breakdown"]
    assert spec.retention is None and spec.migration is None


def _role_universe_break(snapshot: Snapshot) -> Snapshot:
    summary = snapshot.summary
    role = next(q for q in summary["questions"] if q["key"] == "role")
    role["waves"]["2026"]["universe"] = "not shown to self-declared students"
    summary["breaks"].append(
        {
            "question": "role",
            "wave": "2026",
            "previous_wave": "2022",
            "kind": "universe",
            "universe": "not shown to self-declared students",
            "previous_universe": "",
        }
    )
    Snapshot.objects.filter(pk=snapshot.pk).update(summary=summary)
    Cell.objects.create(
        snapshot=snapshot,
        measure=Cell.Measure.CHANGE,
        wave="2026",
        compare_wave="2022",
        question="role",
        choice="data-scientist",
        flag="universe-break",
    )
    snapshot.refresh_from_db()
    return snapshot


@pytest.mark.django_db
def test_a_universe_break_is_said_on_the_chart_the_page_and_in_the_codebook(client):
    _role_universe_break(census_snapshot())
    report = report_build(Snapshot.objects.get())
    chart = report.chart("breakdown-2026-role")
    assert chart.caveat == "Who was asked in 2026: not shown to self-declared students."
    assert chart.notes[0].startswith(
        "Who was asked changed between 2022 and 2026 (2022: everyone who reached the "
        "question; 2026: not shown to self-declared students)."
    )
    page = client.get(URL).content.decode()
    assert "<code>universe-break</code>" in page
    assert "asked of a different group of respondents" in page
    codebook = b"".join(
        client.get("/reports/ml-frameworks/codebook.csv").streaming_content
    ).decode()
    assert "universe,2026,role,single,,role,not shown to self-declared students" in codebook
    assert "break,2026,role,,,universe,Who was asked changed between 2022 and 2026" in codebook
    cells = b"".join(client.get("/reports/ml-frameworks/cells.csv").streaming_content).decode()
    change = next(line for line in cells.splitlines() if ",2026,role,data-scientist," in line)
    assert ",universe-break,change,2022," in change


@pytest.mark.django_db
def test_the_generic_report_of_a_one_question_series_heads_with_that_question():
    from survey.services import survey_create

    survey = survey_create(
        spec={
            "series": {"slug": "one-question", "title": "One question"},
            "survey": {"slug": "one-question-1", "title": "One", "wave_label": "2026"},
            "pages": [
                {
                    "title": "Vote",
                    "questions": [
                        {
                            "key": "favourite",
                            "kind": "single",
                            "text": "Which?",
                            "choices": [("a", "A"), ("b", "B")],
                        }
                    ],
                }
            ],
        }
    )
    assert spec_for(survey.series).headline_question == "favourite"
