import csv
import io
import re
import sys
import types

import pytest

from results.comparison import COLUMNS, _conclusions, comparison_build
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
    assert _conclusions(rising, ["pytorch"], labels) == [
        "PyTorch: rising in all 2 lines that cover it (a 2019–2023, b 2020–2024)."
    ]
    mixed = rising + _line("c", [("2020", 0.5), ("2024", 0.2)])
    (sentence,) = _conclusions(mixed, ["pytorch"], labels)
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
    assert width <= 340  # drawn at its own size on a 390 px phone, never scaled down
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
