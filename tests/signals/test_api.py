import pytest

API = "/api/v1/signals/"


@pytest.mark.django_db
def test_sources_list_each_with_unit_licence_and_breaks(client, signals_loaded):
    body = client.get(API).json()
    assert [s["key"] for s in body] == [
        "conference-papers",
        "github-innovation-graph",
        "pypi-downloads",
        "transformer-papers",
    ]
    pypi = body[2]
    assert pypi["unit"] == "downloads" and "hugovk/top-pypi-packages" in pypi["attribution"]
    assert [b["label"] for b in pypi["breaks"]][1].startswith("July 2025")
    assert pypi["csv"] == "http://testserver/signals/pypi-downloads.csv"
    assert body[1]["licence"] == "CC0 1.0" and "under 100" in body[1]["missing_rule"]


@pytest.mark.django_db
def test_values_filter_by_entity_and_scope_with_missing_as_null(client, signals_loaded):
    body = client.get(
        f"{API}github-innovation-graph/values/", {"entity": "tensorflow", "scope": "CN"}
    ).json()
    assert {row["scope"] for row in body} == {"CN"}
    missing = [row for row in body if row["period"] == "2023-Q1"]
    assert missing[0]["value"] is None and "under 100" in missing[0]["missing"]
    us = client.get(f"{API}github-innovation-graph/values/", {"scope": "US", "label": "pytorch"})
    first = us.json()[0]
    assert (first["period"], first["value"], first["entity"]) == ("2020-Q1", 585, "pytorch")


@pytest.mark.django_db
def test_bad_filters_and_unknown_sources_get_json_errors(client, signals_loaded):
    response = client.get(f"{API}pypi-downloads/values/", {"entity": "nonsense"})
    assert response.status_code == 400
    assert "Unknown entity 'nonsense'" in response.json()["entity"][0]
    for url in (f"{API}nope/", f"{API}nope/values/"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json() == {"detail": "No signal source 'nope'."}


@pytest.mark.django_db
def test_the_schema_documents_the_signals_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in (API, f"{API}{{key}}/", f"{API}{{key}}/values/"):
        assert "get" in schema["paths"][path]
