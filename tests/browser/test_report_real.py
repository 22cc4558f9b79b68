"""The report on the real Kaggle waves and an open Census wave with under k answers.

The "done when" figures of the report: 2022 speaks (16,240 answered the framework question,
PyTorch 32.0%, TensorFlow 49.0%), its breakdowns are drawn, the role question's universe
break between 2018 and 2022 is flagged, and the Census wave says it has not enough answers.
"""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from results.charts import chart_render
from results.drawing import PHONE, WIDE
from results.models import Cell
from results.selectors import published_snapshot, report_build
from results.services import snapshot_build, snapshot_publish
from survey.census import CENSUS_SPEC
from survey.models import Answer, Question, Response, Series, Survey
from survey.services import Structure, response_import, survey_create
from tests.browser.chart_checks import overlaps, svg_texts, too_small
from tests.survey.conftest import kaggle_dir

URL = "/reports/ml-frameworks/"
STUDENTS = "everyone but self-declared students (not shown the job titles)"


def _census_answers(survey: Survey, n: int) -> None:
    structure = Structure.of(survey)
    responses, answers = [], []
    for index in range(n):
        response, rows = response_import(
            survey=survey,
            respondent_hash=f"census-test-{index}",
            values={
                "role": "ml-engineer",
                "region": "europe",
                "project_types": ["research"],
                "frameworks_used": ["pytorch", "jax"],
                "primary_framework": "pytorch",
                "migrated": "no",
            },
            channel="direct",
            submitted_at=datetime(2026, 11, 20, tzinfo=UTC),
            structure=structure,
        )
        responses.append(response)
        answers += rows
    Response.objects.bulk_create(responses)
    for answer in answers:
        answer.response_id = answer.response.pk
    Answer.objects.bulk_create(answers)


@pytest.fixture(scope="module")
def real_series(django_db_setup, django_db_blocker):
    """Both Kaggle waves, the open Census with 5 answers, built and published once."""
    folder = kaggle_dir()
    if not (folder / "kaggle_2018.zip").exists() or not (folder / "kaggle_2022.zip").exists():
        pytest.skip(f"the shared Kaggle waves are not in {folder} (set TALLY_KAGGLE_DIR)")
    with django_db_blocker.unblock():
        for wave in ("2018", "2022"):
            call_command(
                "import_kaggle",
                str(folder / f"kaggle_{wave}.zip"),
                "--wave",
                wave,
                "--no-progress",
                stdout=StringIO(),
            )
        # Who was asked the role question, as the importer records it for 2022.
        Question.objects.filter(survey__slug="kaggle-2022", key="role").update(universe=STUDENTS)
        census = survey_create(spec=CENSUS_SPEC, survey_overrides={"status": Survey.Status.OPEN})
        _census_answers(census, 5)
        series = Series.objects.get(slug="ml-frameworks")
        snapshot = snapshot_build(series_id=series.pk)
        snapshot_publish(snapshot_id=snapshot.pk)
        yield series
        Answer.objects.filter(response__survey__series=series).delete()
        Survey.objects.filter(series=series).delete()
        series.delete()


@pytest.mark.django_db
def test_2022_speaks_with_the_reference_figures(real_series):
    report = report_build(published_snapshot("ml-frameworks"))
    assert report.speaking_wave == "2022"
    rows = {row["choice"]: row for row in report.headline.rows if row["wave"] == "2022"}
    assert rows["pytorch"]["base_n"] == 16_240
    assert round(rows["pytorch"]["share"] * 100, 1) == 32.0
    assert round(rows["tensorflow"]["share"] * 100, 1) == 49.0
    assert report.headline.order[:3] == ["scikit-learn", "TensorFlow", "Keras"]
    assert "2026" not in {row["wave"] for row in report.headline.rows}
    assert report.changes.empty == (
        "No change to draw: the question's wording changed between 2018 and 2022"
    )
    assert {c.name for c in report.breakdowns["2022"]} >= {"breakdown-2022-role"}
    assert report.breakdowns["2022"][0].drawn


@pytest.mark.django_db
def test_the_page_says_which_wave_speaks_and_the_census_shortfall(client, real_series):
    page = client.get(URL).content.decode()
    assert (
        "2022, the latest wave with enough answers; the ML Framework Census 2026 is open with "
        "fewer than 10 answers." in page
    )
    assert "Breakdowns, 2022" in page
    census = client.get(URL, {"wave": "2026"}).content.decode()
    assert "2026: not enough answers yet: fewer than 10 of 100 needed." in census


@pytest.mark.django_db
def test_the_role_change_across_the_universe_break_is_flagged_never_a_change(real_series):
    snapshot = published_snapshot("ml-frameworks")
    changes = Cell.objects.filter(
        snapshot=snapshot, measure="change", question="role", wave="2022", compare_wave="2018"
    )
    assert changes.exists()
    assert set(changes.values_list("flag", flat=True)) == {"universe-break"}
    assert set(changes.values_list("share", flat=True)) == {None}
    breaks = [b for b in snapshot.summary["breaks"] if b["question"] == "role"]
    assert breaks[0] == (
        {
            "question": "role",
            "wave": "2022",
            "previous_wave": "2018",
            "kind": "universe",
            "universe": STUDENTS,
            "previous_universe": "",
        }
    )
    role = report_build(snapshot).chart("breakdown-2022-role")
    assert role.caveat == f"Who was asked in 2022: {STUDENTS}."


@pytest.mark.browser
@pytest.mark.django_db
@pytest.mark.parametrize("layout", [PHONE, WIDE], ids=["phone", "wide"])
def test_every_real_chart_is_readable_with_no_overlapping_labels(real_series, browser, layout):
    report = report_build(published_snapshot("ml-frameworks"))
    page = browser.new_page(viewport={"width": 390 if layout is PHONE else 1200, "height": 900})
    drawn = [chart for chart in report.charts if not chart.empty]
    assert len(drawn) >= 6
    for chart in drawn:
        svg, _ = chart_render(chart, layout)
        width = float(ET.fromstring(svg).get("width"))  # noqa: S314 (our own renderer's SVG)
        if layout is PHONE:
            assert width <= PHONE.total + 8, chart.name  # shown at its own size on a phone
        texts = svg_texts(page, svg)
        assert too_small(texts, 1.0) == [], chart.name
        assert overlaps(texts) == [], chart.name
    page.close()
