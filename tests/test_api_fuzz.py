"""Schemathesis against the app's own OpenAPI schema: generated requests never get a 5xx, and
every response has a documented status code, content type and shape.

Runs in-process through the WSGI app, on a database holding the open Census, a published
snapshot built by the real pipeline (the synthetic demo series) and a factory-made snapshot
with hostile keys and suppressed cells.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from results.services import snapshot_build, snapshot_publish
from signals.services import signal_import
from survey.api import SubmitThrottle
from survey.demo import demo_load
from tests.results.factories import census_snapshot
from tests.signals.conftest import FILES as SIGNAL_FILES

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATIONS = [
    "GET /api/v1/surveys/",
    "GET /api/v1/surveys/{slug}/",
    "POST /api/v1/surveys/{slug}/responses/",
    "GET /api/v1/series/",
    "GET /api/v1/series/{slug}/",
    "GET /api/v1/series/{slug}/cells/",
    "GET /api/v1/signals/",
    "GET /api/v1/signals/{key}/",
    "GET /api/v1/signals/{key}/values/",
]
SURVEY_SLUGS = ["census-2026", "census-demo-2025", "no-such-survey"]
SERIES_SLUGS = ["ml-frameworks", "ml-frameworks-demo", "no-such-series"]
SIGNAL_KEYS = ["conference-papers", "transformer-papers", "no-such-source"]


@pytest.fixture
def wsgi_in_test_transaction():
    """Keep the test's connection (and its transaction) across requests, as Django's test
    client does: a raw WSGI call would otherwise close it at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(census, wsgi_in_test_transaction, monkeypatch):
    demo = demo_load(responses_per_wave=60, seed=11)
    snapshot_publish(snapshot_id=snapshot_build(series_id=demo.pk).pk)
    census_snapshot(series=census.series, hostile=True)
    for name in ("conference-papers", "transformer-papers"):
        signal_import(path=SIGNAL_FILES[name])
    # The fuzzer posts far more than a person would; the throttle has its own test.
    monkeypatch.setattr(SubmitThrottle, "rate", "100000/hour", raising=False)
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


def cases(operation: Any, mode: GenerationMode) -> st.SearchStrategy:
    """Generated requests; most use a slug that exists, since random ones only meet a 404."""
    if "{key}" in operation.path:
        return st.one_of(
            operation.as_strategy(mode),
            *(operation.as_strategy(mode, path_parameters={"key": k}) for k in SIGNAL_KEYS),
        )
    if "slug" not in operation.path:
        return operation.as_strategy(mode)
    known = SERIES_SLUGS if operation.path.startswith("/api/v1/series/") else SURVEY_SLUGS
    return st.one_of(
        operation.as_strategy(mode),
        *(operation.as_strategy(mode, path_parameters={"slug": slug}) for slug in known),
    )


def test_schema_lists_every_api_operation(api_schema):
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert labels == set(OPERATIONS)


def fuzz(operation: Any, mode: GenerationMode, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(operation, mode))
    def run(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    run()


# Schemathesis's lazy pytest loader (`from_fixture`) fails on this pytest, and the schema needs
# the database to exist, so the operations are walked here, each with its own hypothesis run;
# the data is built once and every operation's failures are reported together.
def test_api_never_fails_and_matches_its_schema(api_schema):
    failures: list[str] = []
    for label in OPERATIONS:
        method, path = label.split(" ", 1)
        operation = api_schema[path][method]
        for mode, examples in ((GenerationMode.POSITIVE, 30), (GenerationMode.NEGATIVE, 20)):
            try:
                fuzz(operation, mode, examples)
            except Unsatisfiable:
                # Nothing this operation takes can be made invalid (no query, no body).
                assert mode == GenerationMode.NEGATIVE, label
            except (Exception, FailureGroup) as error:  # noqa: BLE001 (gather them all)
                failures.append(f"{label} ({mode.value}): {error}")
    assert not failures, "\n\n".join(failures)


# Example-based regressions for what the fuzzer found.

CELLS = "/api/v1/series/ml-frameworks/cells/"
SUBMIT = "/api/v1/surveys/census-2026/responses/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=100000000000000000000", "limit"),  # was a 500: bigint out of range
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=1001", "limit"),
        ("offset=-5", "offset"),
        ("offset=1e5", "offset"),
        ("offset=" + "9" * 5000, "offset"),
    ],
)
def test_bad_limit_or_offset_gets_a_json_400_naming_it(client, query, field):
    census_snapshot()
    response = client.get(f"{CELLS}?{query}")
    assert response.status_code == 400
    assert "must be a whole number from" in response.json()[field][0]


@pytest.mark.django_db
def test_an_offset_past_the_end_is_an_empty_page(client):
    census_snapshot()
    body = client.get(CELLS, {"offset": 10**15, "limit": 1000}).json()
    assert body["results"] == [] and body["count"] == 60


@pytest.mark.django_db
def test_unknown_api_addresses_get_a_json_404(client):
    for url in ("/api/v1/nope/", "/api/v1/series/a.b/cells/", "/api/v1/surveys/x/y/z/"):
        response = client.get(url)
        assert response.status_code == 404
        assert "No API endpoint at this address" in response.json()["detail"]


def submit(client, body: Any):
    return client.post(SUBMIT, body, content_type="application/json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("answers", "key", "message"),
    [
        ('{"satisfaction": 1e400}', "satisfaction", "Value must be valid JSON."),  # raw: inf
        ({"comment": None}, "comment", "may not be null"),
        ({"comment": True}, "comment", "a single choice key, number or text"),
        ({"project_types": ["research", {"a": 1}]}, "project_types", "a list of choice keys"),
        ({"framework_status": {"no_such_row": "new-projects"}}, "framework_status", "no_such_row"),
        ({"framework_status": {"pytorch": ["stopped"]}}, "framework_status", "one column key"),
        (
            {"frameworks_used": ["other"], "frameworks_used__other": {"a": 1}},
            "frameworks_used",
            "takes a text",
        ),
        ({"role__other": "astronaut"}, "role__other", "No such question."),
    ],
)
def test_malformed_answers_get_a_flat_message_per_question(client, census, answers, key, message):
    body = f'{{"answers": {answers}}}' if isinstance(answers, str) else {"answers": answers}
    response = submit(client, body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert all(isinstance(m, str) for messages in errors.values() for m in messages)
    assert message in " ".join(errors[key])
    assert not census.responses.exists()
