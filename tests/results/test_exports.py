import csv
import io

import pytest
from django.http import StreamingHttpResponse

from results.exports import csv_lines, safe_value
from results.models import Cell
from tests.results.factories import HOSTILE_KEY, HOSTILE_LABEL, LEAK, OLD_TEXT, census_snapshot

CELLS = "/reports/ml-frameworks/cells.csv"
CODEBOOK = "/reports/ml-frameworks/codebook.csv"


def read(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db
def test_cells_csv_has_the_fixed_columns_and_one_row_per_cell(client):
    snapshot = census_snapshot()
    response = client.get(CELLS)
    rows = read(response)
    assert response["Content-Type"].startswith("text/csv; charset=utf-8")
    assert list(rows[0]) == [
        "series",
        "wave",
        "question",
        "choice",
        "option",
        "dimension",
        "segment",
        "base_n",
        "count",
        "share",
        "ci_low",
        "ci_high",
        "share_weighted",
        "ci_low_weighted",
        "ci_high_weighted",
        "n_eff",
        "flag",
        "measure",
        "compare_wave",
        "design_effect",
        "synthetic",
    ]
    assert len(rows) == snapshot.cells.count()
    pytorch = next(
        r
        for r in rows
        if r["wave"] == "2026"
        and r["choice"] == "pytorch"
        and r["measure"] == "share"
        and r["question"] == "frameworks_used"
        and not r["dimension"]
    )
    assert pytorch["series"] == "ml-frameworks"
    assert pytorch["share"] == str(558 / 900) and pytorch["base_n"] == "900"
    assert 0 < float(pytorch["ci_low"]) < float(pytorch["share"]) < float(pytorch["ci_high"]) < 1
    assert pytorch["flag"] == "" and pytorch["option"] == "" and pytorch["segment"] == ""


@pytest.mark.django_db
def test_cells_csv_leaves_suppressed_values_empty_with_their_flag(client):
    census_snapshot()
    text = b"".join(client.get(CELLS).streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    suppressed = [r for r in rows if r["flag"] == "hidden"]
    assert suppressed
    assert all(r["share"] == r["count"] == r["ci_low"] == "" for r in suppressed)
    assert str(LEAK) not in text


@pytest.mark.django_db
def test_cells_csv_keeps_negative_changes_numeric_and_neutralizes_hostile_keys(client):
    census_snapshot(hostile=True)
    rows = read(client.get(CELLS))
    hostile = [r for r in rows if r["choice"].endswith("calc'!A0")]
    assert hostile and all(r["choice"] == "'" + HOSTILE_KEY for r in hostile)
    tensorflow = next(
        r
        for r in rows
        if r["measure"] == "change" and r["choice"] == "tensorflow" and r["wave"] == "2026"
    )
    assert float(tensorflow["share"]) < 0 and tensorflow["share"].startswith("-0.")
    assert tensorflow["compare_wave"] == "2022"


@pytest.mark.django_db
def test_cells_csv_streams_with_a_fixed_number_of_queries(client, django_assert_num_queries):
    snapshot = census_snapshot()
    Cell.objects.bulk_create(
        Cell(snapshot=snapshot, wave="2026", question="domains", choice=f"c{i}")
        for i in range(3000)
    )
    with django_assert_num_queries(2):  # the snapshot, SET LOCAL jit, then one COPY
        rows = read(client.get(CELLS))
    assert len(rows) == snapshot.cells.count()


def test_the_writer_yields_the_csv_in_chunks_without_building_it_whole():
    rows = ([i, "x"] for i in range(1200))
    chunks = list(csv_lines(["n", "text"], rows))
    assert chunks[0] == "n,text\r\n"
    assert len(chunks) == 4  # the header, then batches of 500
    assert "".join(chunks).count("\r\n") == 1201


@pytest.mark.parametrize(
    "value", ["=1+2", "+1", "-x", "@SUM(A1)", "\tcmd", "\rcmd", "|pipe", "%x", HOSTILE_LABEL]
)
def test_text_that_a_spreadsheet_would_run_starts_with_an_apostrophe(value):
    assert safe_value(value) == "'" + value


@pytest.mark.parametrize("value", [-0.05, 3, "-0.05", "pytorch", "a=b"])
def test_numbers_and_ordinary_text_pass_unchanged(value):
    assert safe_value(value) == value


@pytest.mark.django_db
def test_synthetic_series_says_so_in_the_headers_filename_and_codebook(client):
    census_snapshot(synthetic=True)
    response = client.get(CELLS)
    assert response["Tally-Synthetic"] == "true"
    assert "synthetic" in response["Content-Disposition"]
    rows = read(client.get(CODEBOOK))
    series = next(r for r in rows if r["record"] == "series")
    assert series["synthetic"] == "true" and "Synthetic demo data" in series["text"]
    # The tidy CSV itself stays tidy: the first line is the header.
    first = b"".join(client.get(CELLS).streaming_content).decode().splitlines()[0]
    assert first.startswith("series,wave,question")


@pytest.mark.django_db
def test_real_series_csv_has_no_synthetic_header(client):
    census_snapshot()
    response = client.get(CELLS)
    assert "Tally-Synthetic" not in response
    assert response["Content-Disposition"] == 'attachment; filename="ml-frameworks-cells.csv"'


@pytest.mark.django_db
def test_codebook_lists_questions_choices_flags_and_sources_per_wave(client):
    census_snapshot(hostile=True)
    rows = read(client.get(CODEBOOK))
    assert {r["record"] for r in rows} >= {"series", "source", "question", "choice", "flag"}
    old = next(
        r
        for r in rows
        if r["record"] == "question" and r["wave"] == "2018" and r["question"] == "frameworks_used"
    )
    assert old["text"] == OLD_TEXT and old["kind"] == "multi" and old["published"] == "true"
    column = next(
        r
        for r in rows
        if r["record"] == "choice" and r["role"] == "column" and r["key"] == "new-projects"
    )
    assert column["question"] == "framework_status" and column["text"] == "Use for new projects"
    name = next(r for r in rows if r["record"] == "question" and r["question"] == "company_name")
    assert name["published"] == "false"
    size = next(r for r in rows if r["record"] == "question" and r["question"] == "company_size")
    assert size["is_dimension"] == "true"
    flag = next(r for r in rows if r["record"] == "flag" and r["key"] == "hidden")
    assert "subtraction" in flag["text"]
    source = next(r for r in rows if r["record"] == "source" and r["wave"] == "2026")
    assert source["license"] == "CC BY 4.0" and source["attribution"].startswith("Tally")
    assert source["n"] == "900" and source["fielded_from"] == "2026-03-01"
    hostile = [r for r in rows if r["text"] == "'" + HOSTILE_LABEL]
    assert hostile and all(r["key"] == "'" + HOSTILE_KEY for r in hostile)


@pytest.mark.django_db
def test_exports_of_an_unknown_series_are_404(client):
    assert client.get("/reports/nope/cells.csv").status_code == 404
    assert client.get("/reports/nope/codebook.csv").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("synthetic", [True, False])
def test_every_row_of_both_csvs_says_whether_the_series_is_synthetic(client, synthetic):
    census_snapshot(synthetic=synthetic)
    expected = "true" if synthetic else "false"
    cells = read(client.get(CELLS))
    codebook = read(client.get(CODEBOOK))
    assert cells and {row["synthetic"] for row in cells} == {expected}
    assert codebook and {row["synthetic"] for row in codebook} == {expected}
