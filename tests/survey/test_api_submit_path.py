"""The API's submission path kept short: the survey's structure cached per process and never
stale, one statement for the writes, limits and duplicate checks in one round trip each."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from survey import limits
from survey.api import SubmitThrottle
from survey.models import Answer, Choice, Question, Response, Survey
from survey.selectors import response_values
from survey.services import (
    response_import,
    response_submit_whole,
    structure_current,
)
from tests.survey.test_api import ANSWERS, submit


@pytest.mark.django_db
def test_a_submission_with_the_structure_cached_is_one_read_and_one_write(
    client, census, django_assert_num_queries
):
    assert submit(client, {**ANSWERS, "satisfaction": "1"}).status_code == 201  # loads it
    # The survey's row, then the response and its answers in one INSERT; the savepoint
    # around it is there only because the test runs inside a transaction.
    with django_assert_num_queries(4) as captured:
        assert submit(client, ANSWERS).status_code == 201
    sql = [query["sql"] for query in captured.captured_queries]
    assert sql[0].startswith("SELECT") and "survey_survey" in sql[0]
    assert sql[1].startswith("SAVEPOINT") and sql[3].startswith("RELEASE SAVEPOINT")
    assert sql[2].startswith("WITH response AS (INSERT INTO")
    assert Response.objects.complete().count() == 2


@pytest.mark.django_db
def test_naming_a_channel_adds_one_read(client, census, django_assert_num_queries):
    assert submit(client, ANSWERS, channel="partner-x").status_code == 201  # queued once
    with django_assert_num_queries(5):
        answer = submit(client, {**ANSWERS, "satisfaction": "1"}, channel="partner-x")
    assert answer.status_code == 201
    assert list(Response.objects.values_list("channel", "channel_requested").distinct()) == [
        ("api", "partner-x")
    ]


@pytest.mark.django_db
def test_a_cold_cache_loads_the_structure_once(client, census):
    with CaptureQueriesContext(connection) as cold:
        assert submit(client, ANSWERS).status_code == 201
    with CaptureQueriesContext(connection) as warm:
        assert submit(client, {**ANSWERS, "satisfaction": "1"}).status_code == 201
    assert any("survey_question" in q["sql"] for q in cold.captured_queries)
    assert not any("survey_question" in q["sql"] for q in warm.captured_queries)
    assert not any("survey_choice" in q["sql"] for q in warm.captured_queries)


@pytest.mark.django_db
def test_an_edit_to_a_choice_reaches_the_next_submission_however_it_was_written(client, census):
    assert submit(client, ANSWERS).status_code == 201  # the structure is now cached
    # A bare UPDATE: no model save, no signal; the database's trigger moves the version.
    Choice.objects.filter(question__survey=census, question__key="role", key="student").update(
        key="learner"
    )
    renamed = {**ANSWERS, "role": "learner", "satisfaction": "1"}
    assert submit(client, renamed).status_code == 201
    refused = submit(client, {**ANSWERS, "satisfaction": "2"})
    assert refused.status_code == 400
    assert refused.json()["errors"]["role"] == [
        "That answer is not one of the choices offered here."
    ]


@pytest.mark.django_db
def test_a_new_required_question_and_a_deleted_one_reach_the_next_submission(client, census):
    assert submit(client, ANSWERS).status_code == 201
    role = Question.objects.get(survey=census, key="role")
    Question.objects.create(
        survey=census, page=role.page, position=99, key="team_size", kind="number", text="Team?",
        required=True,
    )  # fmt: skip
    answer = submit(client, {**ANSWERS, "satisfaction": "1"})
    assert answer.status_code == 400
    assert answer.json()["errors"]["team_size"] == ["This question needs an answer."]
    assert submit(client, {**ANSWERS, "satisfaction": "1", "team_size": 4}).status_code == 201

    Question.objects.filter(survey=census, key="comment").delete()
    gone = submit(client, {**ANSWERS, "team_size": 4, "comment": "hello"})
    assert gone.json()["errors"] == {"comment": ["No such question."]}


@pytest.mark.django_db
def test_the_structure_version_moves_on_every_write_and_never_back(census):
    stale = Survey.objects.get(pk=census.pk)
    before = stale.structure_version
    Choice.objects.filter(question__survey=census).first().save()
    census.pages.first().save(update_fields=["title"])
    Question.objects.filter(survey=census, key="comment").update(text="Anything else?")
    census.refresh_from_db()
    assert census.structure_version == before + 3
    stale.title = "Renamed by an admin who loaded the survey earlier"
    stale.save()  # writes the version it read: the database keeps the newer one
    stale.refresh_from_db()
    assert stale.structure_version == before + 3


@pytest.mark.django_db
def test_a_cached_structure_is_the_one_loaded_from_the_database(census):
    cached = structure_current(Survey.objects.get(pk=census.pk))
    assert structure_current(Survey.objects.get(pk=census.pk)) is cached
    assert [q.key for q in cached.questions] == list(
        Question.objects.filter(survey=census)
        .order_by("page__position", "position", "id")
        .values_list("key", flat=True)
    )
    Choice.objects.filter(question__survey=census, key="pytorch").update(label="PyTorch 3")
    fresh = structure_current(Survey.objects.get(pk=census.pk))
    assert fresh is not cached
    assert {c.label for c in fresh.by_key["frameworks_used"].options} >= {"PyTorch 3"}


@pytest.mark.django_db
def test_the_one_statement_insert_stores_what_the_orm_stores(census):
    structure = structure_current(census)
    values = {
        **ANSWERS,
        "frameworks_used__other": "tinygrad 'quoted' \"twice\" \\ back",
        "comment": "Ünïcode, 'quotes' and {braces}",
    }
    fast = response_submit_whole(
        survey=census, respondent_hash="fast", values=values, channel="api",
        channel_requested="partner", ip_hash="ip", structure=structure,
    )  # fmt: skip
    orm, answers = response_import(
        survey=census, respondent_hash="orm", values=values, channel="api", structure=structure
    )
    orm.ip_hash, orm.channel_requested = "ip", "partner"
    orm.current_page = fast.current_page
    orm.save()
    for answer in answers:
        answer.response = orm
    Answer.objects.bulk_create(answers)

    skip = {"id", "respondent_hash", "started_at", "updated_at", "submitted_at"}
    fields = [f.attname for f in Response._meta.concrete_fields if f.attname not in skip]
    row = Response.objects.values_list(*fields)
    assert row.get(pk=fast.pk) == row.get(pk=orm.pk)
    columns = ["question_id", "choice_id", "column_id", "value_number", "value_text"]
    stored = {
        r.pk: sorted(Answer.objects.filter(response=r).values_list(*columns), key=str)
        for r in (fast, orm)
    }
    assert stored[fast.pk] == stored[orm.pk] and len(stored[fast.pk]) == len(answers)
    assert response_values(fast) == response_values(orm)
    assert response_values(fast)["frameworks_used__other"] == values["frameworks_used__other"]


@pytest.mark.django_db
def test_a_number_is_stored_exactly(client, census):
    role = Question.objects.get(survey=census, key="role")
    Question.objects.create(
        survey=census, page=role.page, position=99, key="team_size", kind="number", text="Team?"
    )
    assert submit(client, {**ANSWERS, "team_size": "12.3456"}).status_code == 201
    answer = Answer.objects.get(question__key="team_size")
    assert answer.value_number == Decimal("12.3456")


@pytest.mark.django_db
def test_a_third_identical_body_is_flagged_and_the_first_keeps_its_other_flags(census):
    assert submit(Client(), ANSWERS).status_code == 201
    first = Response.objects.get()
    Response.objects.filter(pk=first.pk).update(quality_flags=["too-fast"])
    for _ in range(2):
        assert submit(Client(), ANSWERS).status_code == 201
    flags = [r.quality_flags for r in Response.objects.order_by("pk")]
    twin = [limits.IDENTICAL_BODY]
    assert flags == [["too-fast", limits.IDENTICAL_BODY], twin, twin]
    assert submit(Client(), {**ANSWERS, "satisfaction": "1"}).status_code == 201
    assert Response.objects.order_by("pk").last().quality_flags == []


@pytest.mark.django_db
def test_a_burst_at_the_end_of_a_window_still_counts_after_it(client, census, monkeypatch):
    monkeypatch.setattr(SubmitThrottle, "THROTTLE_RATES", {"submit": "2/hour"})
    hour = 3600 * 500_000  # some hour boundary

    def at(seconds: float) -> None:
        monkeypatch.setattr(SubmitThrottle, "timer", staticmethod(lambda: seconds))

    at(hour - 1.0)
    assert [submit(client, {**ANSWERS, "satisfaction": s}).status_code for s in "12"] == [201] * 2
    at(hour + 1.0)  # the next fixed window
    refused = submit(client, {**ANSWERS, "satisfaction": "3"})
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    # Once the burst is an hour old it no longer counts.
    at(hour + 3600.0)
    assert submit(client, {**ANSWERS, "satisfaction": "4"}).status_code == 201
