from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.test import Client
from django.utils import timezone

from survey import identity
from survey.models import Answer, Channel, Invitation, Response, Survey
from survey.selectors import response_values

URL = "/s/census-2026/"


def post_page(client: Client, number: int, data: dict, action: str = "next", **extra):
    payload = {"page": str(number), "action": action, **data}
    return client.post(URL + extra.pop("query", ""), payload, **extra)


def fill(client: Client, pages: list[dict], upto: int | None = None):
    last = None
    for number, data in enumerate(pages[:upto], start=1):
        last = post_page(client, number, data)
        assert last.status_code == 302, last.content.decode()[:2000]
    return last


@pytest.mark.django_db
def test_home_lists_the_open_census(client, census):
    page = client.get("/")
    assert "ML Framework Census 2026" in page.content.decode()


@pytest.mark.django_db
def test_first_page_shows_progress_and_labelled_fieldsets(client, census):
    page = client.get(URL).content.decode()
    assert "Page 1 of 5" in page
    assert "<legend>Which title is closest to your current role?" in page
    assert 'name="website"' in page  # the honeypot
    assert "cdn" not in page.lower()


@pytest.mark.django_db
def test_optional_question_says_optional_once(client, census):
    page = client.get(URL).content.decode()
    assert "(optional) <span" not in page  # the text already ends with "(optional)"
    assert "Your organization's name (optional)</legend>" in page.replace("&#x27;", "'")
    assert '<span class="opt">(optional)</span>' in page  # added where the text lacks it


def test_favicon_ico_leads_to_the_served_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert "tally/favicon" in response["Location"] and response["Location"].endswith(".svg")


@pytest.mark.django_db
def test_whole_census_submits_page_by_page(client, census, census_post):
    Channel.objects.create(name="newsletter", approved=True)
    client.get(URL + "?ch=newsletter")
    last = fill(client, census_post)
    assert last["Location"] == "/s/census-2026/thanks/"
    response = Response.objects.get()
    assert response.status == Response.Status.COMPLETE
    assert response.channel == "newsletter"
    values = response_values(response)
    assert values["role"] == "data-scientist"
    assert values["frameworks_used"] == ["pytorch", "jax"]
    assert values["framework_status"] == {"pytorch": "new-projects", "tensorflow": "stopped"}
    assert values["migration_to"] == "pytorch"
    assert values["company_name"] == "Acme Analytics"
    thanks = client.get(last["Location"]).content.decode()
    assert "Thank you" in thanks


@pytest.mark.django_db
def test_respondent_token_is_stored_only_as_a_keyed_hash(client, census, census_post):
    fill(client, census_post, upto=1)
    response = Response.objects.get()
    cookie = client.cookies["tally_rid"].value
    token = cookie.split(":")[0]
    assert token not in response.respondent_hash
    assert len(response.respondent_hash) == 64


@pytest.mark.django_db
def test_missing_required_answer_is_shown_beside_the_field(client, census, census_post):
    data = dict(census_post[0])
    del data["q_role"]
    page = post_page(client, 1, data)
    assert page.status_code == 400
    html = page.content.decode()
    assert 'role="alert"' in html
    assert "This question needs an answer." in html
    assert Response.objects.count() == 0


@pytest.mark.django_db
def test_required_matrix_and_other_text_are_checked(client, census, census_post):
    fill(client, census_post, upto=2)
    data = {**census_post[2], "q_frameworks_used": ["other"], "q_frameworks_used__other": ""}
    page = post_page(client, 3, data)
    assert page.status_code == 400
    assert "Please say what &quot;Other&quot; is" in page.content.decode()


@pytest.mark.django_db
def test_other_text_without_ticking_other_is_an_error_that_keeps_the_text(
    client, census, census_post
):
    fill(client, census_post, upto=2)
    data = {**census_post[2], "q_frameworks_used__other": "Robotics toolkit"}
    page = post_page(client, 3, data)
    assert page.status_code == 400
    body = page.content.decode()
    assert "You wrote under &quot;Other&quot; without choosing it" in body
    assert 'value="Robotics toolkit"' in body


@pytest.mark.django_db
def test_question_hidden_by_show_if_is_never_stored_nor_required(client, census, census_post):
    first = {**census_post[0], "q_role": "student"}  # company questions are for the employed
    fill(client, [first])
    values = response_values(Response.objects.get())
    assert "company_size" not in values
    assert "company_name" not in values
    fill_rest = census_post[1:]
    fill_rest[2] = {"q_primary_framework": "pytorch", "q_migrated": "no"}
    for number, data in enumerate(fill_rest, start=2):
        assert post_page(client, number, data).status_code == 302
    response = Response.objects.get()
    assert response.status == Response.Status.COMPLETE
    assert "migration_from" not in response_values(response)


@pytest.mark.django_db
def test_changing_an_earlier_answer_drops_answers_it_now_hides(client, census, census_post):
    fill(client, census_post, upto=4)
    assert "migration_from" in response_values(Response.objects.get())
    post_page(client, 4, {"q_primary_framework": "pytorch", "q_migrated": "no"})
    assert "migration_from" not in response_values(Response.objects.get())


@pytest.mark.django_db
def test_back_keeps_answers_and_shows_the_previous_page(client, census, census_post):
    fill(client, census_post, upto=2)
    back = post_page(client, 3, census_post[2], action="back")
    assert back["Location"].endswith("?page=2")
    page = client.get(back["Location"]).content.decode()
    assert "Page 2 of 5" in page
    assert 'value="research" id="id_q_project_types_0" checked' in page
    assert response_values(Response.objects.get())["frameworks_used"] == ["pytorch", "jax"]


@pytest.mark.django_db
def test_a_draft_is_resumed_from_the_resume_link_in_another_browser(client, census, census_post):
    fill(client, census_post, upto=2)
    page = client.get(URL).content.decode()
    assert "Page 3 of 5" in page
    link = page.split("resume link</a>")[0].rsplit('href="', 1)[1].split('"')[0]
    other = Client()
    assert other.get(link).status_code == 302
    resumed = other.get(URL).content.decode()
    assert "Page 3 of 5" in resumed
    for number, data in enumerate(census_post[2:], start=3):
        assert post_page(other, number, data).status_code == 302
    assert Response.objects.get().status == Response.Status.COMPLETE


@pytest.mark.django_db
def test_bad_resume_link_gets_a_clear_page(client, census):
    page = client.get(URL + "resume/not-a-token/")
    assert page.status_code == 400
    assert "resume link is not valid" in page.content.decode()


@pytest.mark.django_db
def test_returning_respondent_sees_they_answered_and_can_edit(client, census, census_post):
    fill(client, census_post)
    page = client.get(URL).content.decode()
    assert "You already answered this survey" in page
    assert "?edit=1" in page
    edit = client.get(URL + "?edit=1").content.decode()
    assert "editing the answers you already sent" in edit
    assert 'value="data-scientist" id="id_q_role_0" checked' in edit
    data = {**census_post[0], "q_region": "africa", "mode": "edit"}
    assert post_page(client, 1, data).status_code == 302
    response = Response.objects.get()
    assert response_values(response)["region"] == "africa"
    assert response.status == Response.Status.COMPLETE
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_replay_of_a_submitted_form_changes_nothing(client, census, census_post):
    fill(client, census_post)
    before = sorted(Answer.objects.values_list("question__key", "choice__key", "value_text"))
    replay = post_page(client, 1, {**census_post[0], "q_region": "oceania"})
    assert replay.status_code == 302
    after = sorted(Answer.objects.values_list("question__key", "choice__key", "value_text"))
    assert before == after


@pytest.mark.django_db
def test_tampered_page_number_sends_back_to_the_real_page(client, census, census_post):
    fill(client, census_post, upto=1)
    jump = post_page(client, 5, census_post[4])
    assert jump.status_code == 302
    assert jump["Location"] == URL
    assert "satisfaction" not in response_values(Response.objects.get())
    assert post_page(client, 99, {}).status_code == 302
    assert client.post(URL, {"page": "abc"}).status_code == 302


@pytest.mark.django_db
def test_unknown_choice_gets_a_message_and_keeps_the_draft(client, census, census_post):
    fill(client, census_post, upto=1)
    page = post_page(client, 2, {"q_project_types": ["research", "9999"]})
    assert page.status_code == 400
    assert "That answer is not one of the choices offered here." in page.content.decode()
    assert response_values(Response.objects.get())["role"] == "data-scientist"


@pytest.mark.django_db
def test_oversize_text_gets_a_message(client, census, census_post):
    fill(client, census_post, upto=4)
    page = post_page(client, 5, {"q_satisfaction": "4", "q_comment": "x" * 5000})
    assert page.status_code == 400
    assert "at most 2000 characters" in page.content.decode()
    assert Response.objects.get().status == Response.Status.DRAFT


@pytest.mark.django_db
def test_ten_thousand_selections_get_a_400_page_not_a_500(client, census, census_post):
    fill(client, census_post, upto=1)
    page = post_page(client, 2, {"q_project_types": [str(i) for i in range(10000)]})
    assert page.status_code == 400
    assert "malformed or too large" in page.content.decode()
    assert response_values(Response.objects.get())["role"] == "data-scientist"


@pytest.mark.django_db
def test_invalid_utf8_is_read_safely(client, census):
    body = b"page=1&action=next&q_role=data-scientist&q_region=europe&q_company_name=\xff\xfe"
    page = client.post(URL, body, content_type="application/x-www-form-urlencoded")
    assert page.status_code in (302, 400)
    assert page.status_code != 500


@pytest.mark.django_db
def test_honeypot_pretends_success_and_stores_nothing(client, census, census_post):
    page = post_page(client, 1, {**census_post[0], "website": "http://spam.example"})
    assert page.status_code == 302
    assert Response.objects.count() == 0


@pytest.mark.django_db
def test_submission_faster_than_the_minimum_is_refused_politely(client, census, census_post):
    Survey.objects.filter(pk=census.pk).update(min_seconds=3600)
    last = None
    for number, data in enumerate(census_post, start=1):
        last = post_page(client, number, data)
    assert last.status_code == 200
    assert "quicker than we expect" in last.content.decode()
    assert Response.objects.get().status == Response.Status.DRAFT


@pytest.mark.django_db
def test_submissions_are_rate_limited_per_ip_hash(client, census, census_post, settings):
    settings.TALLY_SUBMIT_RATE_PER_HOUR = 1
    fill(client, census_post)
    second = Client()
    last = None
    for number, data in enumerate(census_post, start=1):
        last = post_page(second, number, data)
    assert last.status_code == 429
    assert "Your answers are saved" in last.content.decode()
    assert Response.objects.filter(status=Response.Status.DRAFT).count() == 1


@pytest.mark.django_db
def test_closed_survey_refuses_answers_and_keeps_the_draft(client, census, census_post):
    fill(client, census_post, upto=2)
    Survey.objects.filter(pk=census.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    page = post_page(client, 3, census_post[2])
    assert page.status_code == 410
    assert "closed" in page.content.decode()
    assert "frameworks_used" not in response_values(Response.objects.get())
    assert client.get(URL).status_code == 410


@pytest.mark.django_db
def test_draft_and_unknown_surveys_get_clear_pages(client, census):
    Survey.objects.filter(pk=census.pk).update(status=Survey.Status.DRAFT)
    draft = client.get(URL)
    assert draft.status_code == 404
    assert "not open yet" in draft.content.decode()
    unknown = client.get("/s/no-such-survey/")
    assert unknown.status_code == 404
    assert "Survey not found" in unknown.content.decode()


@pytest.mark.django_db
def test_invite_only_survey_admits_invitation_holders(client, census, census_post):
    Survey.objects.filter(pk=census.pk).update(access=Survey.Access.INVITE)
    refused = client.get(URL)
    assert refused.status_code == 403
    assert "by invitation only" in refused.content.decode()
    Invitation.objects.create(survey=census, token_hash=identity.invitation_hash("abc123"))
    assert "Page 1 of 5" in client.get(URL + "?invite=abc123").content.decode()
    fill(client, census_post)
    response = Response.objects.get()
    assert response.invitation is not None
    assert response.invitation.used_at is not None


@pytest.mark.django_db
def test_one_response_per_respondent_is_a_database_rule(census):
    Response.objects.create(survey=census, respondent_hash="h" * 64)
    with pytest.raises(IntegrityError):
        Response.objects.create(survey=census, respondent_hash="h" * 64)


@pytest.mark.django_db
def test_an_invitation_admits_one_respondent_only(client, census, census_post):
    Survey.objects.filter(pk=census.pk).update(access=Survey.Access.INVITE)
    Invitation.objects.create(survey=census, token_hash=identity.invitation_hash("once"))
    client.get(URL + "?invite=once")
    fill(client, census_post, upto=1)
    stranger = Client()
    page = stranger.get(URL + "?invite=once")
    assert page.status_code == 403
    assert "already been used" in page.content.decode()
    assert "Page 2 of 5" in client.get(URL).content.decode()


@pytest.mark.django_db
def test_a_move_from_a_framework_to_itself_is_refused_with_a_clear_message(
    client, census, census_post
):
    fill(client, census_post, upto=3)
    same = {**census_post[3], "q_migration_to": "tensorflow"}
    reply = post_page(client, 4, same)
    assert reply.status_code == 400
    page = reply.content.decode().replace("&quot;", '"')
    assert '"TensorFlow" is also your answer to "Which framework did you move away from?"' in page
    assert "migration_to" not in response_values(Response.objects.get())


@pytest.mark.django_db
def test_none_together_with_a_framework_is_refused_with_a_clear_message(
    client, census, census_post
):
    fill(client, census_post, upto=2)
    reply = post_page(client, 3, {**census_post[2], "q_frameworks_used": ["pytorch", "none"]})
    assert reply.status_code == 400
    page = reply.content.decode().replace("&quot;", '"')
    assert '"None" cannot be chosen together with other answers' in page
    alone = post_page(client, 3, {"q_frameworks_used": ["none"]})
    assert alone.status_code == 302


@pytest.mark.django_db
def test_quality_flags_and_company_names_are_set_for_every_completed_response(
    client, census, census_post, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        fill(client, census_post)
    other = Client()
    with django_capture_on_commit_callbacks(execute=True):
        fill(other, census_post)  # the same network: both are flagged
    responses = list(Response.objects.order_by("pk"))
    assert [r.status for r in responses] == ["complete", "complete"]
    assert all("duplicate-respondent" in r.quality_flags for r in responses)
    assert {r.company_normalized for r in responses} == {"acme analytics"}


@pytest.mark.django_db
def test_a_broker_or_cache_that_is_down_never_fails_a_submission(
    client, census, census_post, monkeypatch
):
    from survey import tasks

    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks.response_checks, "apply_async", down)
    monkeypatch.setattr(tasks.cache, "add", down)
    last = fill(client, census_post)
    assert last["Location"] == "/s/census-2026/thanks/"
    assert Response.objects.get().status == Response.Status.COMPLETE
