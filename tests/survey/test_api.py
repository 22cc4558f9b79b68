import pytest
from django.test import Client

from survey.models import Channel, Response, Survey
from survey.selectors import response_values

URL = "/api/v1/surveys/census-2026/responses/"

ANSWERS = {
    "role": "student",
    "region": "europe",
    "project_types": ["teaching-learning"],
    "frameworks_used": ["pytorch", "other"],
    "frameworks_used__other": "tinygrad",
    "framework_status": {"pytorch": "new-projects"},
    "primary_framework": "pytorch",
    "migrated": "no",
    "satisfaction": "5",
}


def submit(client: Client, answers: dict, **extra):
    return client.post(URL, {"answers": answers, **extra}, content_type="application/json")


@pytest.mark.django_db
def test_survey_definition_lists_pages_questions_choices_and_show_if(client, census):
    data = client.get("/api/v1/surveys/census-2026/").json()
    assert [p["position"] for p in data["pages"]] == [1, 2, 3, 4, 5]
    questions = {q["key"]: q for p in data["pages"] for q in p["questions"]}
    assert questions["migration_from"]["show_if"] == {"question": "migrated", "any_of": ["yes"]}
    roles = {c["role"] for c in questions["framework_status"]["choices"]}
    assert roles == {"row", "column"}


@pytest.mark.django_db
def test_open_surveys_are_listed(client, census):
    assert [s["slug"] for s in client.get("/api/v1/surveys/").json()] == ["census-2026"]


@pytest.mark.django_db
def test_a_whole_response_is_submitted_and_stored_like_a_browser_one(client, census):
    Channel.objects.create(name="partner-api", approved=True)
    answer = submit(client, ANSWERS, channel="partner-api")
    assert answer.status_code == 201, answer.json()
    response = Response.objects.get()
    assert response.status == Response.Status.COMPLETE
    assert response.channel == "partner-api"
    values = response_values(response)
    assert values["frameworks_used"] == ["pytorch", "other"]
    assert values["frameworks_used__other"] == "tinygrad"
    assert "company_size" not in values


@pytest.mark.django_db
def test_invalid_answers_get_a_json_400_naming_each_problem(client, census):
    answer = submit(client, {**ANSWERS, "role": "astronaut", "framework_status": "pytorch"})
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert "framework_status" in errors
    assert Response.objects.count() == 0
    answer = submit(client, {k: v for k, v in ANSWERS.items() if k != "region"} | {"role": "x"})
    assert answer.status_code == 400
    body = answer.json()["errors"]
    assert body["role"] == ["That answer is not one of the choices offered here."]
    assert body["region"] == ["This question needs an answer."]


@pytest.mark.django_db
def test_other_text_without_other_chosen_is_a_400_not_dropped(client, census):
    answer = submit(client, {**ANSWERS, "frameworks_used": ["pytorch"]})
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert any("without choosing it" in message for message in sum(errors.values(), []))
    assert Response.objects.count() == 0


@pytest.mark.django_db
def test_unknown_keys_and_malformed_json_are_400s(client, census):
    assert submit(client, {**ANSWERS, "favourite_colour": "blue"}).json()["errors"] == {
        "favourite_colour": ["No such question."]
    }
    bad = client.post(URL, b"{not json", content_type="application/json")
    assert bad.status_code == 400
    assert "JSON parse error" in bad.json()["detail"]
    assert submit(client, "a string").status_code == 400


@pytest.mark.django_db
def test_closed_and_unknown_surveys(client, census):
    Survey.objects.filter(pk=census.pk).update(status=Survey.Status.CLOSED)
    assert submit(client, ANSWERS).status_code == 410
    assert client.get("/api/v1/surveys/nope/").status_code == 404


@pytest.mark.django_db
def test_the_api_refuses_a_move_to_the_same_framework_and_none_with_a_framework(client, census):
    moved = {**ANSWERS, "migrated": "yes", "migration_from": "keras", "migration_to": "keras"}
    answer = submit(client, moved)
    assert answer.status_code == 400
    assert "must differ" in answer.json()["errors"]["migration_to"][0]
    both = {**ANSWERS, "frameworks_used": ["none", "pytorch"]}
    answer = submit(client, both)
    assert answer.status_code == 400
    assert "cannot be chosen together" in answer.json()["errors"]["frameworks_used"][0]
    assert Response.objects.count() == 0
    fine = {**moved, "migration_to": "pytorch"}
    assert submit(client, fine).status_code == 201
