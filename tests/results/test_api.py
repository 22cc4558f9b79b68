import json
from unittest import mock

import pytest
from django.core.management import call_command

from results.models import Cell
from tests.results.factories import LEAK, SeriesFactory, SnapshotFactory, census_snapshot

API = "/api/v1/series/"
CELLS = "/api/v1/series/ml-frameworks/cells/"


@pytest.mark.django_db
def test_series_list_shows_only_series_with_a_published_snapshot(client):
    census_snapshot(synthetic=True)
    SnapshotFactory(series=SeriesFactory(slug="draft-only"), published_at=None)
    body = client.get(API).json()
    assert body["count"] == 1
    series = body["results"][0]
    assert series["slug"] == "ml-frameworks" and series["is_synthetic"] is True
    assert series["cells_csv"] == "http://testserver/reports/ml-frameworks/cells.csv"
    assert series["cells"] == "http://testserver/api/v1/series/ml-frameworks/cells/"


@pytest.mark.django_db
def test_series_detail_gives_the_published_summary(client):
    snapshot = census_snapshot()
    body = client.get(f"{API}ml-frameworks/").json()
    assert body["snapshot"]["id"] == snapshot.pk
    assert [w["label"] for w in body["snapshot"]["summary"]["waves"]] == ["2018", "2022", "2026"]
    assert body["snapshot"]["summary"]["breaks"][0]["wave"] == "2022"


@pytest.mark.django_db
def test_unknown_or_unpublished_series_is_a_json_404(client):
    census_snapshot(published=False)
    for url in (f"{API}ml-frameworks/", CELLS, f"{API}nope/cells/"):
        response = client.get(url)
        assert response.status_code == 404
        assert "No published report for series" in response.json()["detail"]


@pytest.mark.django_db
def test_cells_are_paginated_and_filtered(client):
    census_snapshot()
    body = client.get(
        CELLS,
        {
            "wave": "2026",
            "measure": "share",
            "dimension": "none",
            "question": "frameworks_used",
            "limit": 2,
        },
    ).json()
    assert body["count"] == 5
    assert len(body["results"]) == 2 and body["next"]
    first = body["results"][0]
    assert first["question"] == "frameworks_used" and first["dimension"] == ""
    assert 0 <= first["share"] <= 1 and first["ci_low"] < first["share"] < first["ci_high"]
    by_size = client.get(CELLS, {"dimension": "company_size"}).json()
    assert by_size["count"] == 10
    migration = client.get(CELLS, {"question": "migration"}).json()
    assert migration["count"] == 4


@pytest.mark.django_db
def test_suppressed_values_are_null_in_the_api(client):
    census_snapshot()
    response = client.get(CELLS, {"limit": 1000})
    cells = response.json()["results"]
    suppressed = [c for c in cells if c["flag"] == "hidden"]
    assert suppressed and all(c["share"] is None and c["count"] is None for c in suppressed)
    assert str(LEAK) not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"measure": "average"}, "measure", "is not a valid choice"),
        ({"wave": "1999"}, "wave", "Unknown wave '1999'. Known values: 2018, 2022, 2026."),
        ({"question": "shoe_size"}, "question", "Unknown question 'shoe_size'"),
        ({"dimension": "frameworks_used"}, "dimension", "Unknown dimension"),
    ],
)
def test_bad_filter_values_get_a_json_400_that_says_what_is_wrong(client, params, field, message):
    census_snapshot()
    response = client.get(CELLS, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert message in response.json()[field][0]


@pytest.mark.django_db
def test_cells_queries_do_not_grow_with_the_number_of_cells(client, django_assert_num_queries):
    snapshot = census_snapshot()
    Cell.objects.bulk_create(
        Cell(snapshot=snapshot, wave="2026", question="domains", choice=f"c{i}") for i in range(600)
    )
    with django_assert_num_queries(3):  # snapshot, count, page
        body = client.get(CELLS, {"limit": 500}).json()
    assert len(body["results"]) == 500


@pytest.mark.django_db
def test_openapi_schema_validates(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    assert "/api/v1/series/{slug}/cells/" in schema
    assert "measure" in schema


@pytest.mark.django_db
def test_schema_endpoint_serves_openapi_3(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert json.loads(response.content)["openapi"].startswith("3.")


@pytest.mark.django_db
def test_api_docs_load_swagger_from_local_static_files_without_inline_code(client):
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "swagger-ui-bundle" in page
    assert "<style" not in page and "<script>" not in page
    assert "cdn" not in page.lower()
    script = client.get("/api/docs/", {"script": ""})
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_snapshot_age(client):
    census_snapshot()
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert body["published"][0]["series"] == "ml-frameworks"
    assert 3500 <= body["published"][0]["age_seconds"] <= 3700
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_says_when_the_broker_is_unreachable_but_stays_up(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "unreachable"


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_does_not_answer(client):
    with mock.patch("results.views.database_answers", return_value=False):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
