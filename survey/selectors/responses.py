"""Read-side queries for taking surveys: structure, visibility rules, stored answers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, QuerySet

from ..models import Answer, Choice, Page, Question, Response, Series, Survey

# A question's value, as forms produce it and services store it:
# single/scale: choice key; multi: list of choice keys; matrix: {row key: column key};
# number: Decimal; text: str. "Other, please specify" text travels as "<key>__other".
Values = dict[str, Any]


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


def survey_questions(survey: Survey) -> list[Question]:
    return list(survey.questions.all())


def page_questions(survey: Survey, page: Page) -> list[Question]:
    return [q for q in survey.questions.all() if q.page_id == page.pk]


def question_is_visible(question: Question, values: Values, by_id: dict[int, Question]) -> bool:
    """Whether show-if rules (followed up the chain) let this question be asked."""
    seen: set[int] = set()
    current = question
    while current.show_if_question_id is not None:
        if current.pk in seen:  # a cycle is an authoring error: treat it as hidden
            return False
        seen.add(current.pk)
        parent = by_id.get(current.show_if_question_id)
        if parent is None:
            return False
        answer = values.get(parent.key)
        wanted = set(current.show_if_choice_keys or [])
        if isinstance(answer, str):
            chosen = {answer}
        elif isinstance(answer, list):
            chosen = set(answer)
        else:
            chosen = set()
        if not chosen & wanted:
            return False
        current = parent
    return True


def response_values(response: Response) -> Values:
    """The stored answers of one response, keyed by question key."""
    values: Values = {}
    rows = (
        Answer.objects.filter(response=response)
        .select_related("question", "choice", "column")
        .order_by("question_id", "choice__position", "id")
    )
    for answer in rows:
        question = answer.question
        key = question.key
        if question.kind in (Question.Kind.SINGLE, Question.Kind.SCALE):
            if answer.choice is not None:
                values[key] = answer.choice.key
                if answer.choice.is_other and answer.value_text:
                    values[f"{key}__other"] = answer.value_text
        elif question.kind == Question.Kind.MULTI:
            if answer.choice is not None:
                values.setdefault(key, []).append(answer.choice.key)
                if answer.choice.is_other and answer.value_text:
                    values[f"{key}__other"] = answer.value_text
        elif question.kind == Question.Kind.MATRIX:
            if answer.choice is not None and answer.column is not None:
                values.setdefault(key, {})[answer.choice.key] = answer.column.key
        elif question.kind == Question.Kind.NUMBER:
            values[key] = answer.value_number
        else:
            values[key] = answer.value_text
    return values


def response_for(*, survey: Survey, respondent_hash: str) -> Response | None:
    return Response.objects.filter(survey=survey, respondent_hash=respondent_hash).first()


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
