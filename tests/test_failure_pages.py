"""What a client sees when something fails: a 503 when the database is down, a 413 for an
oversize body, and never a traceback (with DEBUG on or off)."""

import pytest
from django.db import OperationalError
from django.test import Client

from survey import api as survey_api
from survey import views as survey_views


def _database_down(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def _bug(*args, **kwargs):
    raise RuntimeError("a bug")


@pytest.mark.parametrize("debug", [True, False])
def test_a_database_that_does_not_answer_gives_a_503_page_and_json_under_api(
    census, monkeypatch, settings, debug
):
    settings.DEBUG = debug
    monkeypatch.setattr(survey_views, "survey_row", _database_down)
    monkeypatch.setattr(survey_api, "survey_with_structure", _database_down)
    client = Client(raise_request_exception=False)
    page = client.get("/s/census-2026/")
    assert page.status_code == 503
    assert page["Retry-After"]
    assert "briefly unavailable" in page.content.decode()
    assert "Traceback" not in page.content.decode()
    api = client.get("/api/v1/surveys/census-2026/")
    assert api.status_code == 503
    assert api["Content-Type"] == "application/json"
    assert "unavailable" in api.json()["detail"]


@pytest.mark.parametrize("debug", [True, False])
def test_a_bug_shows_respondents_the_plain_500_page_never_a_traceback(
    census, monkeypatch, settings, debug
):
    settings.DEBUG = debug
    monkeypatch.setattr(survey_views, "survey_row", _bug)
    page = Client(raise_request_exception=False).get("/s/census-2026/")
    assert page.status_code == 500
    html = page.content.decode()
    assert "Something went wrong on our side" in html
    assert "Traceback" not in html and "RuntimeError" not in html


def test_an_oversize_page_gets_a_413_page_and_keeps_what_was_saved(census, census_post, settings):
    client = Client()
    client.get("/s/census-2026/")
    assert client.post("/s/census-2026/", {**census_post[0], "page": "1"}).status_code == 302
    huge = {**census_post[1], "page": "2", "q_project_types": "x" * (2 * 1024 * 1024)}
    answer = client.post("/s/census-2026/", huge)
    assert answer.status_code == 413
    html = answer.content.decode()
    assert "too large to save" in html
    assert "earlier pages are kept" in html
    assert "Traceback" not in html
    # Page 1's answers are still there: the survey resumes on page 2.
    assert "Page 2 of 5" in client.get("/s/census-2026/").content.decode()


def test_an_oversize_api_body_gets_a_json_413(census, settings):
    body = '{"answers": {"comment": "' + "x" * (2 * 1024 * 1024) + '"}}'
    answer = Client().post(
        "/api/v1/surveys/census-2026/responses/", body, content_type="application/json"
    )
    assert answer.status_code == 413
    assert answer.json()["limit_bytes"] == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_after_a_database_failure_requests_get_a_503_at_once_for_a_moment(
    census, monkeypatch, settings
):
    """The breaker: while the database is known down, a request does not wait out the
    pool's timeout; /healthz still asks the database itself."""
    from survey.middleware import breaker

    settings.DATABASES = {
        "default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.postgresql"}
    }
    settings.TALLY_DB_BREAKER_SECONDS = 30
    monkeypatch.setattr(survey_views, "survey_row", _database_down)
    client = Client(raise_request_exception=False)
    assert client.get("/s/census-2026/").status_code == 503
    assert breaker.is_open()
    monkeypatch.undo()
    assert client.get("/s/census-2026/").status_code == 503  # no database call at all
    assert client.get("/healthz").status_code == 200
    breaker.open_until = 0.0
    assert client.get("/s/census-2026/").status_code == 200


@pytest.mark.parametrize("debug", [True, False])
def test_too_many_fields_get_the_plain_400_page_or_json_never_the_debug_page(
    census, settings, debug
):
    settings.DEBUG = debug
    fields = {f"f{index}": "x" for index in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    client = Client(raise_request_exception=False)
    page = client.post("/s/census-2026/", {"page": "1", **fields})
    assert page.status_code == 400
    html = page.content.decode()
    assert f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields" in html
    assert "Traceback" not in html and "TooManyFieldsSent" not in html
    api = client.post("/api/v1/surveys/census-2026/responses/", fields)
    assert api.status_code == 400
    assert "fields" in api.json()["detail"]
