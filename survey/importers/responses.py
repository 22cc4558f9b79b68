"""Imported respondents written as complete responses and their answer rows, in bulk.

Tens of thousands of responses and a few hundred thousand answers per wave: building a model
instance for each costs seconds, so rows are built as tuples and written with `rows_copy`.
The answer rules are those of `survey.services.response_import` (unknown keys dropped, repeats
dropped, "other" text only on an Other choice, hidden questions not stored); choice questions
take a direct path, every other kind goes through `response_import` itself.
`tests/survey/test_importer_toolkit.py` checks that both give the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from ..models import Answer, Choice, Question, Response, Survey
from ..selectors import Values, question_is_visible
from ..services import Structure, response_import
from .copy import ids_reserve, rows_copy

CHOICE_KINDS = {Question.Kind.SINGLE, Question.Kind.MULTI, Question.Kind.SCALE}


@dataclass
class Respondent:
    """One imported record: its number in the file, its values, its duration if known."""

    number: int
    values: Values
    duration: int | None = None


def _template(instance: Any, skip: set[str]) -> tuple[list[str], list[Any]]:
    """Database columns and values of a model instance with its defaults (pk left out)."""
    fields = [f for f in instance._meta.concrete_fields if not f.primary_key and f.name not in skip]
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            f.pre_save(instance, add=True)
    values = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    return [f.column for f in fields], values


def answer_rows(
    *, values: Values, structure: Structure, survey: Survey
) -> Iterator[tuple[int, int | None, int | None, Any, str]]:
    """(question id, choice id, column id, number, text) of each answer a response stores."""
    others = False
    for question in structure.questions:
        value = values.get(question.key)
        if value is None:
            continue
        if question.kind not in CHOICE_KINDS:
            others = True
            continue
        if not question_is_visible(question, values, structure.by_id):
            continue
        other = str(values.get(f"{question.key}__other", "")).strip()
        keys = dict.fromkeys(value) if question.kind == Question.Kind.MULTI else [value]
        for key in keys:
            choice = structure.choices.get((question.pk, Choice.Role.OPTION, str(key)))
            if choice is not None:
                yield (question.pk, choice.pk, None, None, other[:200] if choice.is_other else "")
    if others:  # matrices, numbers, texts: the services' own rules, instances and all
        _response, answers = response_import(
            survey=survey, respondent_hash="", values=values, channel="", structure=structure
        )
        for answer in answers:
            if answer.question.kind not in CHOICE_KINDS:
                yield (
                    answer.question_id,
                    answer.choice_id,
                    answer.column_id,
                    answer.value_number,
                    answer.value_text,
                )


def responses_write(
    *,
    survey: Survey,
    structure: Structure,
    respondents: list[Respondent],
    channel: str,
    respondent_hash: Callable[[int], str],
) -> int:
    """Write one complete, accepted response per respondent with its answers; returns count."""
    now = timezone.now()
    columns, defaults = _template(
        Response(
            survey=survey,
            status=Response.Status.COMPLETE,
            channel=channel,
            started_at=now,
            submitted_at=now,
        ),
        skip=set(),
    )
    at = {name: columns.index(name) for name in ("respondent_hash", "source_row")}
    at["duration_seconds"] = columns.index("duration_seconds")
    ids = ids_reserve(table=Response._meta.db_table, count=len(respondents))

    def response_rows() -> Iterable[list[Any]]:
        for pk, respondent in zip(ids, respondents, strict=True):
            row = [pk, *defaults]
            row[1 + at["respondent_hash"]] = respondent_hash(respondent.number)
            row[1 + at["source_row"]] = str(respondent.number)
            row[1 + at["duration_seconds"]] = respondent.duration
            yield row

    rows_copy(table=Response._meta.db_table, columns=["id", *columns], rows=response_rows())
    fixed = ["response_id", "question_id", "choice_id", "column_id", "value_number", "value_text"]
    other_columns, other_defaults = _template(
        Answer(), skip={"response", "question", "choice", "column", "value_number", "value_text"}
    )
    number_field = Answer._meta.get_field("value_number")

    def answers() -> Iterable[tuple[Any, ...]]:
        for pk, respondent in zip(ids, respondents, strict=True):
            for question_id, choice_id, column_id, number, text in answer_rows(
                values=respondent.values, structure=structure, survey=survey
            ):
                if number is not None:
                    number = number_field.get_db_prep_save(number, connection)
                yield (pk, question_id, choice_id, column_id, number, text, *other_defaults)

    rows_copy(table=Answer._meta.db_table, columns=[*fixed, *other_columns], rows=answers())
    return len(respondents)
