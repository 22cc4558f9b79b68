"""Question kinds in one place: every kind has its behaviour, and a value survives the round
trip form -> answer rows -> stored values -> JSON unchanged."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from survey.kinds import BEHAVIOURS, AnswerError, behaviour
from survey.models import Answer, Question, Response
from survey.selectors import response_values
from survey.services import Structure, answers_build
from tests.survey.test_take import URL, fill, post_page

VALUES = {
    "role": "data-scientist",
    "frameworks_used": ["pytorch", "jax"],
    "framework_status": {"pytorch": "new-projects"},
    "satisfaction": "4",
    "comment": "More JAX tutorials, please.",
}


def test_every_kind_has_a_behaviour_and_a_template():
    from django.template.loader import get_template

    assert set(BEHAVIOURS) == set(Question.Kind.values)
    for kind in BEHAVIOURS.values():
        get_template(kind.template)


@pytest.mark.django_db
def test_segment_and_table_kinds_are_the_kinds_own_facts(census):
    by_key = {q.key: q for q in census.questions.all()}
    assert by_key["role"].can_segment and by_key["role"].is_closed
    assert not by_key["framework_status"].can_segment and by_key["framework_status"].is_closed
    assert not by_key["comment"].can_segment and not by_key["comment"].is_closed


@pytest.mark.django_db
def test_options_rows_and_columns_are_the_questions_choices_by_role(census):
    status = census.questions.get(key="framework_status")
    assert status.options == []
    assert [c.key for c in status.rows][:2] == ["pytorch", "tensorflow"]
    assert "stopped" in [c.key for c in status.columns]


@pytest.mark.django_db
def test_a_value_round_trips_through_json_answer_rows_and_stored_values(census):
    structure = Structure.of(census)
    response = Response.objects.create(survey=census, respondent_hash="h")
    rows = []
    for key, raw in VALUES.items():
        question = structure.by_key[key]
        value = behaviour(question.kind).from_json(question, raw)
        rows += answers_build(
            response=response, question=question, value=value, other="", structure=structure
        )
    Answer.objects.bulk_create(rows)
    assert response_values(response) == VALUES


@pytest.mark.django_db
def test_json_answers_of_the_wrong_shape_or_not_offered_are_refused(census):
    by_key = {q.key: q for q in census.questions.all()}
    cases = [
        ("role", ["data-scientist"], "single choice key"),
        ("role", "astronaut", "not one of the choices"),
        ("frameworks_used", "pytorch", "list of choice keys"),
        ("framework_status", {"pytorch": "sometimes"}, "not one of the choices"),
        ("comment", "x" * 5000, "at most 2000 characters"),
    ]
    for key, raw, message in cases:
        question = by_key[key]
        with pytest.raises(AnswerError, match=message):
            behaviour(question.kind).from_json(question, raw)
    number = Question(kind=Question.Kind.NUMBER, key="n", min_value=0, max_value=10)
    assert behaviour(number.kind).from_json(number, "7.5") == Decimal("7.5")
    with pytest.raises(AnswerError, match="less than or equal to 10"):
        behaviour(number.kind).from_json(number, 11)


@pytest.mark.django_db
def test_a_page_post_reads_the_stored_answers_once(client, census, census_post):
    fill(client, census_post, upto=2)
    with CaptureQueriesContext(connection) as queries:
        reply = post_page(client, 3, census_post[2])
    assert reply.status_code == 302
    reads = [q["sql"] for q in queries if 'FROM "survey_answer"' in q["sql"]]
    reads = [sql for sql in reads if sql.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, reads


@pytest.mark.django_db
def test_the_last_page_submits_and_redirects_with_reverse_built_urls(client, census, census_post):
    last = fill(client, census_post)
    assert last["Location"] == "/s/census-2026/thanks/"
    back = post_page(client, 2, census_post[1], action="back", query="?edit=1")
    assert back.status_code == 302
    assert back["Location"].startswith(URL + "?page=1")


INLINE_ROLE_FILTER = re.compile(
    r"for \w+ in [\w.]+\.choices\.all\(\) if \w+\.role ==|choices\.filter\(role=Choice\.Role"
)


def test_choices_by_role_come_from_the_question_never_an_inline_filter():
    root = Path(__file__).resolve().parents[2]
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for folder in ("survey", "results", "signals", "bench")
        for path in (root / folder).rglob("*.py")
        if path != root / "survey" / "models.py"  # Question.options / rows / columns
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if INLINE_ROLE_FILTER.search(line)
    ]
    assert offenders == []


@pytest.mark.django_db
def test_reports_break_down_by_the_kinds_that_say_they_segment(census, monkeypatch):
    from results.services.structure import dimension_questions

    role = census.questions.get(key="role")
    assert dimension_questions([role]) == [role]
    monkeypatch.setattr(type(behaviour(role.kind)), "is_segment", False)
    assert dimension_questions([role]) == []


def test_survey_urls_with_a_query_are_built_by_reverse_never_by_appending():
    root = Path(__file__).resolve().parents[2]
    appended = re.compile(r"""\+ f?["']\?|f["']\{[\w.]+\}\?""")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in (root / "survey").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if appended.search(line)
    ]
    assert offenders == []


@pytest.mark.django_db
def test_a_required_matrix_lacks_each_unanswered_row_in_the_form_and_at_submit(census):
    from survey.kinds import problems
    from survey.services import first_missing_required

    structure = Structure.of(census)
    status = structure.by_key["framework_status"]
    status.required = True
    values = {**VALUES, "frameworks_used": ["pytorch", "jax"]}
    rows = [row.key for row in status.rows if row.key != "pytorch"]
    found = problems(status, values, structure.by_id)
    assert [p.part for p in found] == rows
    assert found[0].message.startswith("Choose an answer for ")
    whole = {**values, "framework_status": {key: "stopped" for key in [*rows, "pytorch"]}}
    assert problems(status, whole, structure.by_id) == []
    others = [q for q in structure.questions if q.required and q.key not in whole]
    for question in others:
        question.required = False
    assert first_missing_required(structure, values) == status
    assert first_missing_required(structure, whole) is None
