"""Read-side queries for taking surveys: structure, visibility rules, stored answers."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Prefetch, QuerySet

from ..kinds import Values, behaviour, is_visible
from ..models import Answer, Choice, Page, Question, Response, Series, Survey


def survey_with_structure(*, slug: str) -> Survey | None:
    questions = Question.objects.select_related("page", "show_if_question").prefetch_related(
        Prefetch("choices", queryset=Choice.objects.order_by("role", "position", "id"))
    )
    return (
        Survey.objects.select_related("series")
        .prefetch_related(
            Prefetch("pages", queryset=Page.objects.order_by("position")),
            Prefetch("questions", queryset=questions.order_by("page__position", "position", "id")),
        )
        .filter(slug=slug)
        .first()
    )


def survey_by_slug(*, slug: str) -> Survey | None:
    """The survey alone, for pages that show none of its questions."""
    return Survey.objects.select_related("series").filter(slug=slug).first()


def survey_row(*, slug: str) -> Survey | None:
    """The survey's own row, fresh (status, dates, structure version), for a path that reads
    it on every request: on PostgreSQL with one plain statement, since building the ORM's
    query costs several times what the database takes to answer it."""
    if connection.vendor != "postgresql":  # values would need the ORM's converters
        return Survey.objects.filter(slug=slug).first()
    fields = [f.attname for f in Survey._meta.concrete_fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in Survey._meta.concrete_fields)
    with connection.cursor() as cursor:
        table = quote(Survey._meta.db_table)
        cursor.execute(f"SELECT {columns} FROM {table} WHERE slug = %s", [slug])
        row = cursor.fetchone()
    return None if row is None else Survey.from_db(connection.alias, fields, row)


def question_is_visible(question: Question, values: Values, by_id: dict[int, Question]) -> bool:
    """Whether show-if rules (followed up the chain) let this question be asked."""
    return is_visible(question, values, by_id)


def response_values(response: Response, *, questions: list[Question] | None = None) -> Values:
    """The stored answers of one response, keyed by question key (shapes: survey.kinds).

    Given the survey's loaded questions (with their choices), the answers are read as plain
    rows and bound to them, instead of three joins and four model instances per answer."""
    values: Values = {}
    if questions is None:
        rows = (
            Answer.objects.filter(response=response)
            .select_related("question", "choice", "column")
            .order_by("question_id", "choice__position", "id")
        )
        for answer in rows:
            behaviour(answer.question.kind).fold(values, answer.question, answer)
        return values
    by_id = {q.pk: q for q in questions}
    choices = {c.pk: c for q in questions for c in q.choices.all()}
    stored = Answer.objects.filter(response=response).values_list(
        "id", "question_id", "choice_id", "column_id", "value_number", "value_text"
    )

    def order(row: tuple) -> tuple[int, int, int]:
        choice = choices.get(row[2])
        return (row[1], choice.position if choice else 0, row[0])

    for _, question_id, choice_id, column_id, number, text in sorted(stored, key=order):
        question = by_id[question_id]
        answer = Answer(
            question=question,
            choice=choices.get(choice_id),
            column=choices.get(column_id),
            value_number=number,
            value_text=text,
        )
        behaviour(question.kind).fold(values, question, answer)
    return values


def response_for(*, survey: Survey, respondent_hash: str) -> Response | None:
    response = Response.objects.filter(survey=survey, respondent_hash=respondent_hash).first()
    if response is not None:
        response.survey = survey  # already loaded: no second query when a service asks
    return response


def surveys_open() -> QuerySet[Survey]:
    return (
        Survey.objects.accepting()
        .filter(access=Survey.Access.PUBLIC, is_poll=False)
        .select_related("series")
    )


def series_surveys(series: Series) -> list[Survey]:
    return list(series.surveys.order_by("wave_label"))


def accepted_responses(surveys: Iterable[Survey]) -> QuerySet[Response]:
    return Response.objects.accepted().filter(survey__in=list(surveys))
