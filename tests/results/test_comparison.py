import csv
import io
import re
import sys
import types

import pytest

from results.comparability import conclusions
from results.comparison import COLUMNS, comparison_build
from results.comparison_chart import comparison_spec
from results.drawing import PHONE, WIDE
from results.models import Cell
from signals.models import Value
from signals.selectors import economy_regions
from tests.results.factories import census_snapshot, share_cell

REPORT = "/reports/ml-frameworks/"
CHARTS = "/reports/ml-frameworks/charts/comparison"
SIGNAL_KEYS = {
    "conference-papers",
    "github-innovation-graph",
    "pypi-downloads",
    "transformer-papers",
}


def read(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.django_db
def test_every_source_and_the_survey_share_one_time_axis(signals_loaded):
    comparison = comparison_build(census_snapshot())
    assert comparison.focus == ["pytorch", "tensorflow", "jax", "keras"]
    assert {line["source"] for line in comparison.lines} == {"survey", *SIGNAL_KEYS}
    units = [line["line"] for line in comparison.lines]
    assert (
        "PyPI: downloads" in units and "GitHub: developers pushing to tagged repositories" in units
    )
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", row["date"]) for row in comparison.rows)


@pytest.mark.django_db
def test_the_survey_is_renormalised_among_the_compared_frameworks(signals_loaded):
    snapshot = census_snapshot()
    comparison = comparison_build(snapshot)
    survey = [
        row for row in comparison.rows if row["source"] == "survey" and row["period"] == "2026"
    ]
    assert sum(row["share"] for row in survey) == pytest.approx(1.0)
    cell = Cell.objects.get(
        snapshot=snapshot,
        wave="2026",
        question="frameworks_used",
        choice="pytorch",
        measure="share",
        dimension="",
    )
    pytorch = next(row for row in survey if row["framework"] == "pytorch")
    total = sum(row["share_as_is"] for row in survey)
    assert pytorch["share_as_is"] == cell.share
    assert pytorch["share"] == pytest.approx(cell.share / total)
    assert pytorch["ci_low"] == pytest.approx(cell.ci_low / total)


@pytest.mark.django_db
def test_each_signal_divides_by_the_frameworks_it_covers(signals_loaded):
    rows = comparison_build(census_snapshot()).rows
    transformers = {
        row["framework"]: row
        for row in rows
        if row["source"] == "transformer-papers" and row["period"] == "2022"
    }
    assert set(transformers) == {"pytorch", "tensorflow", "jax"}  # no keras column
    assert transformers["pytorch"]["share"] == pytest.approx(669 / (669 + 18 + 4))
    assert transformers["pytorch"]["compared"] == "jax pytorch tensorflow"


@pytest.mark.django_db
def test_a_missing_figure_is_a_gap_with_its_reason_never_a_zero(signals_loaded):
    rows = comparison_build(census_snapshot()).rows
    jax = [
        row
        for row in rows
        if row["source"] == "github-innovation-graph" and row["framework"] == "jax"
    ]
    early = [row for row in jax if row["period"] < "2023"]
    assert early and all(row["share"] is None and row["value"] is None for row in early)
    assert all("under 100" in row["missing"] for row in early)
    assert all(row["share"] > 0 for row in jax if row["period"] >= "2023")


@pytest.mark.django_db
def test_breaks_are_listed_and_marked_on_the_figures_after_them(signals_loaded):
    comparison = comparison_build(census_snapshot())
    labels = {item["label"] for item in comparison.breaks}
    assert "July 2025: counted on ClickHouse, not BigQuery" in labels
    assert "From 2021: ML venues only" in labels
    marked = [row for row in comparison.rows if "ClickHouse" in row["break"]]
    assert {row["period"][:10] for row in marked} == {"2025-07-05"}


def _line(source: str, shares: list[tuple[str, float]]) -> list[dict]:
    return [
        {
            "source": source,
            "line": f"{source}: unit",
            "framework": "pytorch",
            "date": f"{year}-06-01",
            "period": year,
            "share": share,
            "ci_low": share - 0.01,
            "ci_high": share + 0.01,
        }
        for year, share in shares
    ]


def test_a_conclusion_is_drawn_only_as_far_as_the_lines_agree():
    labels = {"pytorch": "PyTorch"}
    rising = _line("a", [("2019", 0.2), ("2023", 0.6)]) + _line("b", [("2020", 0.3), ("2024", 0.7)])
    assert conclusions(rising, ["pytorch"], labels) == [
        "PyTorch: rising in all 2 lines that cover it, none read across a break "
        "(a 2019–2023, b 2020–2024)."
    ]
    mixed = rising + _line("c", [("2020", 0.5), ("2024", 0.2)])
    (sentence,) = conclusions(mixed, ["pytorch"], labels)
    assert sentence.startswith("PyTorch: the lines do not agree") and "c falling" in sentence


@pytest.mark.django_db
def test_the_region_view_sets_github_economies_beside_the_survey_regions(signals_loaded):
    snapshot = census_snapshot()
    Cell.objects.bulk_create(
        share_cell(
            count,
            300,
            snapshot=snapshot,
            wave="2022",
            question="frameworks_used",
            choice=choice,
            dimension="region",
            segment="north-america",
        )
        for choice, count in (("pytorch", 180), ("tensorflow", 90))
    )
    # The latest wave's region cells are all hidden: the view uses 2022, GitHub's 2022 too.
    Cell.objects.create(
        snapshot=snapshot,
        wave="2026",
        question="frameworks_used",
        choice="pytorch",
        dimension="region",
        segment="north-america",
        flag="hidden",
    )
    regions = {region["region"]: region for region in comparison_build(snapshot).regions}
    region = regions["north-america"]
    # A region with GitHub figures but no survey cells is shown with the survey's side empty.
    assert regions["europe"]["survey_share"] is None and regions["europe"]["github_share"]
    us_ca = [code for code, region in economy_regions().items() if region == "north-america"]
    figures = Value.objects.filter(
        source__key="github-innovation-graph",
        scope__in=us_ca,
        period__startswith="2022",
        value__isnull=False,
    )
    both: dict[tuple[str, str], dict[str, int]] = {}
    for figure in figures.filter(label__in=["pytorch", "tensorflow"]):
        both.setdefault((figure.scope, figure.period), {})[figure.label] = figure.value
    # Only quarters in which an economy has both figures count.
    pairs = [pair for pair in both.values() if len(pair) == 2]
    pytorch = sum(pair["pytorch"] for pair in pairs)
    tensorflow = sum(pair["tensorflow"] for pair in pairs)
    assert len(pairs) < len(both)  # Canada's TensorFlow figure is missing in some quarters
    assert region["region"] == "north-america" and region["economies"] == "CA, US"
    assert region["github_share"] == pytest.approx(pytorch / (pytorch + tensorflow))
    assert region["survey_share"] == pytest.approx(180 / 270)


@pytest.mark.django_db
def test_the_report_shows_the_comparison_with_its_sources_and_caveats(client, signals_loaded):
    census_snapshot()
    html = client.get(REPORT).content.decode()
    assert "What other data says" in html
    assert "different measures of different populations" in html
    assert "renormalised" in html
    assert "not through the respondent disclosure rules" in html
    for text in (
        "GitHub Innovation Graph",
        "CC0 1.0",
        "hugovk/top-pypi-packages",
        "The Gradient",
        "Awesome-Transformer-Attention",
        "ClickHouse",
        "under 100",
    ):
        assert text in html
    assert 'href="/signals/pypi-downloads.csv"' in html


@pytest.mark.django_db
def test_without_signals_the_section_and_its_files_are_absent(client):
    census_snapshot()
    assert "What other data says" not in client.get(REPORT).content.decode()
    assert client.get(f"{CHARTS}.csv").status_code == 404


@pytest.mark.django_db
def test_the_comparison_downloads_as_csv_svg_and_png(client, signals_loaded):
    census_snapshot()
    rows = read(client.get(f"{CHARTS}.csv"))
    assert list(rows[0]) == COLUMNS
    assert {row["source"] for row in rows} == {"survey", *SIGNAL_KEYS}
    svg = client.get(f"{CHARTS}.svg")
    assert svg["Content-Type"] == "image/svg+xml"
    width = int(re.search(rb'width="(\d+)"', svg.content).group(1))
    assert width <= WIDE.total  # the wide layout, like the report's other charts
    assert b"What other data says" in svg.content
    png = client.get(f"{CHARTS}.png")
    assert png["Content-Type"] == "image/png" and png.content[:4] == b"\x89PNG"


@pytest.mark.django_db
def test_each_signal_downloads_tidy_with_its_provenance(client, signals_loaded):
    rows = read(client.get("/signals/github-innovation-graph.csv"))
    assert {"source", "unit", "licence", "attribution", "missing", "break"} <= set(rows[0])
    china = next(
        r for r in rows if (r["scope"], r["label"], r["period"]) == ("CN", "tensorflow", "2023-Q1")
    )
    assert china["value"] == "" and "under 100" in china["missing"]
    assert {r["licence"] for r in rows} == {"CC0 1.0"}
    assert client.get("/signals/nope.csv").status_code == 404


@pytest.mark.django_db
def test_the_codebook_lists_the_outside_sources(client, signals_loaded):
    census_snapshot()
    rows = read(client.get("/reports/ml-frameworks/codebook.csv"))
    signals = {row["key"]: row for row in rows if row["record"] == "signal"}
    assert set(signals) == SIGNAL_KEYS
    assert signals["github-innovation-graph"]["license"] == "CC0 1.0"


@pytest.mark.django_db
def test_a_report_without_the_headline_shares_shows_no_comparison(client, signals_loaded):
    snapshot = census_snapshot()
    snapshot.cells.filter(question="frameworks_used").delete()
    assert comparison_build(snapshot) is None
    assert "What other data says" not in client.get(REPORT).content.decode()


@pytest.mark.django_db
def test_the_focus_comes_from_the_report_spec_when_there_is_one(monkeypatch, signals_loaded):
    snapshot = census_snapshot()
    spec = types.ModuleType("results.spec")
    spec.spec_for = lambda series: types.SimpleNamespace(focus_choices=["pytorch", "tensorflow"])
    monkeypatch.setitem(sys.modules, "results.spec", spec)
    comparison = comparison_build(snapshot)
    assert comparison.focus == ["pytorch", "tensorflow"]
    assert {row["framework"] for row in comparison.rows} == {"pytorch", "tensorflow"}


def _survey(comparison) -> list[dict]:
    return [row for row in comparison.rows if row["source"] == "survey"]


def _font_sizes(svg: bytes) -> list[float]:
    return [float(size) for size in re.findall(rb'font-size="([\d.]+)', svg)]


@pytest.mark.django_db
def test_no_survey_direction_is_read_across_a_wording_break(signals_loaded):
    # The factory's 2018 wave asked a differently worded question than 2022 and 2026.
    comparison = comparison_build(census_snapshot())
    survey = _survey(comparison)
    assert {row["period"]: row["stretch"] for row in survey} == {
        "2018": "2018",
        "2022": "2022–2026",
        "2026": "2022–2026",
    }
    assert {row["break"] for row in survey if row["period"] == "2022"} == {
        "2018 to 2022: the question changed"
    }
    assert {row["break"] for row in survey if row["period"] != "2022"} == {""}
    sentences = " ".join(comparison.conclusions)
    assert "Survey rising (2022–2026)" in sentences  # PyTorch, within the later wording
    assert "2018–2026" not in sentences and "2018–2022" not in sentences
    (mark,) = [item for item in comparison.breaks if item["source"] == "survey"]
    assert "2018-10-25" < mark["date"] < "2022-09-16"


@pytest.mark.django_db
def test_the_csv_marks_the_survey_break_and_each_rows_stretch(client, signals_loaded):
    census_snapshot()
    rows = [row for row in read(client.get(f"{CHARTS}.csv")) if row["source"] == "survey"]
    marked = {row["period"] for row in rows if row["break"]}
    assert marked == {"2022"}
    assert {row["stretch"] for row in rows} == {"2018", "2022–2026"}


@pytest.mark.django_db
def test_a_universe_break_leaves_the_survey_without_any_direction(client, signals_loaded):
    snapshot = census_snapshot()
    snapshot.summary["breaks"].append(
        {
            "question": "frameworks_used",
            "kind": "universe",
            "wave": "2026",
            "previous_wave": "2022",
            "universe": "Only people who write code.",
            "previous_universe": "",
        }
    )
    snapshot.save()
    comparison = comparison_build(snapshot)
    assert {row["stretch"] for row in _survey(comparison)} == {"2018", "2022", "2026"}
    assert "2022 to 2026: who was asked changed" in {row["break"] for row in _survey(comparison)}
    assert "Survey" not in " ".join(comparison.conclusions)
    html = client.get(REPORT).content.decode()
    assert "The survey gives no direction here" in html


@pytest.mark.django_db
def test_a_framework_not_offered_in_a_wave_is_said_and_not_compared_across(signals_loaded):
    snapshot = census_snapshot()
    snapshot.cells.filter(wave="2022", question="frameworks_used", choice="jax").delete()
    question = next(q for q in snapshot.summary["questions"] if q["key"] == "frameworks_used")
    offered = question["waves"]["2022"]
    offered["choices"] = [pair for pair in offered["choices"] if pair[0] != "jax"]
    snapshot.save()
    survey = _survey(comparison_build(snapshot))
    by_wave: dict[str, list[dict]] = {}
    for row in survey:
        by_wave.setdefault(row["period"], []).append(row)
    jax_2022 = next(row for row in by_wave["2022"] if row["framework"] == "jax")
    assert (
        jax_2022["share"] is None and jax_2022["missing"] == "Not offered in this wave's question."
    )
    # Each wave divides by the frameworks it shows, and a wave showing others is not compared.
    assert {row["compared"] for row in by_wave["2022"]} == {"keras pytorch tensorflow"}
    assert {row["compared"] for row in by_wave["2026"]} == {"jax keras pytorch tensorflow"}
    for rows in by_wave.values():
        assert sum(row["share"] for row in rows if row["share"] is not None) == pytest.approx(1)
    assert {row["stretch"] for row in survey} == {"2018", "2022", "2026"}
    (changed,) = {row["break"] for row in by_wave["2026"]}
    assert changed == "2022 to 2026: Compared frameworks changed (JAX counted from here)"


@pytest.mark.django_db
def test_a_signal_is_read_only_between_its_breaks(signals_loaded):
    rows = comparison_build(census_snapshot()).rows
    pypi = [row for row in rows if row["source"] == "pypi-downloads"]
    for stretch in {row["stretch"] for row in pypi}:
        dates = {row["date"] for row in pypi if row["stretch"] == stretch}
        # Nothing joins a figure before July 2025's change of counting with one after it.
        assert max(dates) < "2025-07-01" or min(dates) >= "2025-07-01"
    github = [row for row in rows if row["source"] == "github-innovation-graph"]
    # JAX has figures from 2023: the shares before divide by three frameworks, after by four.
    assert {row["stretch"] for row in github} == {"2020-Q1–2022-Q4", "2023-Q1–2025-Q3"}
    first = {row["break"] for row in github if row["period"] == "2023-Q1"}
    assert first == {"Compared frameworks changed (JAX counted from here)"}


@pytest.mark.django_db
def test_the_chart_does_not_join_the_survey_across_its_break(signals_loaded):
    comparison = comparison_build(census_snapshot())
    for layout in (WIDE, PHONE):
        spec = comparison_spec(comparison, layout)
        values = spec["vconcat"][0]["data"]["values"]
        survey = [v for v in values if v["source"] == "survey" and v["mark"] == "value"]
        runs = {v["period"]: v["run"] for v in survey if v["framework"] == "pytorch"}
        assert runs["2018"] != runs["2022"] == runs["2026"]
        assert any(v["source"] == "survey" and v["mark"] == "break" for v in values)


@pytest.mark.django_db
def test_the_comparison_has_a_phone_picture_with_readable_text(client, signals_loaded):
    census_snapshot()
    html = client.get(REPORT).content.decode()
    assert re.search(
        r'<picture><source media="\(max-width: 640px\)" '
        r'srcset="/reports/ml-frameworks/charts/comparison\.phone\.svg\?v=[^"]+">'
        r'<img src="/reports/ml-frameworks/charts/comparison\.svg',
        html,
    )
    phone = client.get(f"{CHARTS}.phone.svg")
    assert phone.status_code == 200 and phone["Content-Type"] == "image/svg+xml"
    width = int(re.search(rb'width="(\d+)"', phone.content).group(1))
    assert width <= PHONE.total  # shown at its own size on a 390 px screen
    assert min(_font_sizes(phone.content)) >= 12
    wide = client.get(f"{CHARTS}.svg")
    assert wide.content != phone.content
    assert min(_font_sizes(wide.content)) >= 12
