"""One cell schema: every public output of a cell is derived from it, and masks the same way."""

import csv
import io
from dataclasses import fields

import pytest

from results.disclosure import audit
from results.disclosure.columns import CELL_SCHEMA, PUBLIC_COLUMNS, STORED_COLUMNS
from results.models import Cell
from results.services import snapshot_build, snapshot_publish
from results.services.cells import CellValues
from tests.results.factories import census_snapshot

SLUG = "ml-frameworks"
STRAY = 0.918273645


def _csv(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_stored_cell_holds_every_stored_public_column_and_only_one_private_one():
    model = {f.name for f in Cell._meta.get_fields() if f.concrete} - {"id", "snapshot"}
    values = {f.name for f in fields(CellValues)}
    assert model == values == {*STORED_COLUMNS, "reason"}
    assert "reason" not in PUBLIC_COLUMNS


@pytest.mark.django_db
def test_csv_api_chart_csv_and_codebook_all_follow_the_schema(client):
    census_snapshot()
    cells = _csv(client.get(f"/reports/{SLUG}/cells.csv"))
    assert tuple(cells[0]) == PUBLIC_COLUMNS
    api = client.get(f"/api/v1/series/{SLUG}/cells/", {"limit": 5}).json()["results"]
    assert tuple(api[0]) == PUBLIC_COLUMNS
    assert api[0]["series"] == SLUG and api[0]["synthetic"] is False
    codebook = _csv(client.get(f"/reports/{SLUG}/codebook.csv"))
    described = {row["key"]: row["text"] for row in codebook if row["record"] == "column"}
    assert described == {column.name: column.meaning for column in CELL_SCHEMA}
    chart = _csv(client.get(f"/reports/{SLUG}/charts/headline.csv"))
    assert set(PUBLIC_COLUMNS) <= set(chart[0])
    assert {row["synthetic"] for row in chart} == {row["synthetic"] for row in cells}


@pytest.mark.django_db
def test_the_openapi_cell_shape_is_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    shape = schema["components"]["schemas"]["Cell"]["properties"]
    assert tuple(shape) == PUBLIC_COLUMNS
    assert shape["count"]["description"].startswith("Respondents giving this answer")
    assert shape["count"].get("nullable") is True


def test_a_value_left_in_a_hidden_cell_reaches_no_output_and_the_audit_reads_it_as_hidden(
    client, demo_series
):
    snapshot = snapshot_build(series_id=demo_series.pk)
    snapshot_publish(snapshot_id=snapshot.pk)
    before = audit(snapshot)
    assert before["passed"] and before["hidden"]
    hidden = snapshot.cells.filter(flag="hidden", measure="share").first()
    # A stored value the flag hides (a bug upstream, or an old snapshot) stays hidden everywhere
    Cell.objects.filter(pk=hidden.pk).update(count=3, share=STRAY, ci_low=STRAY)
    slug = demo_series.slug
    csv_text = b"".join(client.get(f"/reports/{slug}/cells.csv").streaming_content)
    assert str(STRAY).encode() not in csv_text
    api = client.get(f"/api/v1/series/{slug}/cells/", {"limit": 100000}).content.decode()
    assert str(STRAY) not in api
    # and the audit sees what a reader sees: the stray count does not count as published.
    after = audit(snapshot)
    assert after["passed"] and after["hidden"] == before["hidden"]


@pytest.mark.django_db
def test_an_unknown_cells_parameter_is_a_400_that_names_it(client):
    census_snapshot()
    response = client.get(f"/api/v1/series/{SLUG}/cells/", {"flag": "hidden", "page": "9"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"flag", "page"}
    assert body["flag"][0].startswith("Unknown parameter 'flag'. Known: dimension, limit")
