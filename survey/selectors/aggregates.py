"""Reads for the report build: aggregates over a wave's accepted responses.

`results` reads responses only through these (and `survey.selectors.responses`). The
database does the counting with GROUP BY; only per-group rows come back to Python.

The weight table contract
-------------------------
Every aggregate here (and in `breakdowns`) takes an optional `weight_table`: the name of
a table the *caller* creates in the same database session (a temporary table, such as
`results.weighting.weight_table` makes), shaped as `WEIGHT_TABLE_COLUMNS`:

- `response_id bigint PRIMARY KEY`: the id of an accepted response of the wave;
- `w double precision NOT NULL`: that respondent's weight.

The aggregates INNER JOIN it on `response_id`: a response missing from the table is not
counted at all, so the caller lists every accepted response of the wave. With a table,
each row gains two values, SUM(w) and SUM(w * w) (for the effective sample size). The
name must be a plain SQL identifier (`WEIGHT_TABLE_NAME`), or ValueError is raised; the
table is only read, never written or dropped here. tests/survey/test_aggregates.py checks
this contract, and that results' weight table keeps to it.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Prefetch, QuerySet

from ..models import Answer, Choice, Question, Response, Series, Survey, TaxonomyVersion

AggregateRow = tuple[Any, ...]
WEIGHT_TABLE_COLUMNS = {"response_id": "bigint", "w": "double precision"}
WEIGHT_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def weight_table_name(name: str) -> str:
    """The weight table's name, checked to be a plain identifier (it is put in the SQL)."""
    if not WEIGHT_TABLE_NAME.match(name):
        raise ValueError(f"A weight table is named by a plain SQL identifier, not {name!r}.")
    return name


def series_waves(*, series_id: int) -> list[Survey]:
    """The waves of a series in report order, with questions and choices prefetched."""
    questions = Question.objects.prefetch_related(
        Prefetch("choices", queryset=Choice.objects.order_by("role", "position", "id"))
    ).order_by("page__position", "position", "id")
    return list(
        Survey.objects.filter(series_id=series_id)
        .prefetch_related(Prefetch("questions", queryset=questions))
        .order_by("wave_label")
    )


def accepted_state(*, series_id: int) -> dict[str, Any]:
    """How many accepted responses a series has, and when the latest of them last changed."""
    state = (
        Response.objects.accepted()
        .filter(survey__series_id=series_id)
        .aggregate(count=Count("id"), updated=Max("updated_at"), curated=Max("curated_at"))
    )
    marks = [mark for mark in (state["updated"], state["curated"]) if mark is not None]
    return {"count": state["count"], "watermark": max(marks) if marks else None}


def series_with_accepted_responses() -> QuerySet[Series]:
    return Series.objects.filter(
        pk__in=Response.objects.accepted().values("survey__series_id")
    ).order_by("pk")


def taxonomy_version_applied() -> int | None:
    return TaxonomyVersion.objects.filter(applied_at__isnull=False).aggregate(n=Max("number"))["n"]


def wave_response_tallies(*, survey_ids: list[int]) -> list[dict[str, Any]]:
    """Complete responses per wave, curation, channel and exclusion reason."""
    return list(
        Response.objects.complete()
        .filter(survey_id__in=survey_ids)
        .values("survey_id", "curation", "channel", "exclusion_reason")
        .annotate(n=Count("id"))
        .order_by("survey_id", "curation", "channel", "exclusion_reason")
    )


def accepted_respondents(*, survey_id: int) -> list[tuple[int, str]]:
    """(response id, normalized company) of a wave's accepted responses, for weighting."""
    return list(
        Response.objects.accepted()
        .filter(survey_id=survey_id)
        .order_by("pk")
        .values_list("pk", "company_normalized")
    )


def respondent_choices(*, survey_id: int, question_ids: list[int]) -> list[AggregateRow]:
    """(response id, question id, choice id) of accepted responses, for raking margins."""
    return list(
        Answer.objects.filter(
            response__in=Response.objects.accepted().filter(survey_id=survey_id),
            question_id__in=question_ids,
            choice__isnull=False,
        )
        .order_by("response_id", "question_id", "choice_id")
        .values_list("response_id", "question_id", "choice_id")
    )


def _accepted_ids_sql(survey_id: int) -> tuple[str, tuple[Any, ...]]:
    # The ORM's own definition of "accepted", used as a subquery in the aggregates below.
    query = Response.objects.accepted().filter(survey_id=survey_id).values("id").query
    sql, params = query.sql_with_params()
    return sql, tuple(params)


def _weight_sql(weight_table: str | None, alias: str) -> tuple[str, str]:
    """Join and select clauses adding sum(w) and sum(w^2) when weights are given."""
    if weight_table is None:
        return "", ""
    join = f" JOIN {weight_table_name(weight_table)} w ON w.response_id = {alias}.response_id"
    return join, ", SUM(w.w), SUM(w.w * w.w)"


def _fetch(sql: str, params: tuple[Any, ...]) -> list[AggregateRow]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _in(ids: list[int]) -> tuple[str, tuple[int, ...]]:
    return ", ".join(["%s"] * len(ids)), tuple(ids)


def answer_counts(
    *, survey_id: int, question_ids: list[int], weight_table: str | None = None
) -> list[AggregateRow]:
    """(question, choice, column, n[, sum w, sum w^2]) over a wave's accepted responses."""
    if not question_ids:
        return []
    answer = Answer._meta.db_table
    accepted, accepted_params = _accepted_ids_sql(survey_id)
    join, sums = _weight_sql(weight_table, "a")
    marks, ids = _in(question_ids)
    sql = (
        f"SELECT a.question_id, a.choice_id, a.column_id, COUNT(*){sums} "
        f"FROM {answer} a{join} "
        f"WHERE a.question_id IN ({marks}) AND a.choice_id IS NOT NULL "
        f"AND a.response_id IN ({accepted}) "
        "GROUP BY a.question_id, a.choice_id, a.column_id"
    )
    return _fetch(sql, ids + accepted_params)


def answer_bases(
    *, survey_id: int, question_ids: list[int], weight_table: str | None = None
) -> list[AggregateRow]:
    """(question, respondents[, sum w, sum w^2]): who answered each (multi-choice) question."""
    if not question_ids:
        return []
    answer = Answer._meta.db_table
    accepted, accepted_params = _accepted_ids_sql(survey_id)
    join, sums = _weight_sql(weight_table, "a")
    marks, ids = _in(question_ids)
    sql = (
        f"SELECT a.question_id, COUNT(*){sums} FROM ("
        f"SELECT DISTINCT response_id, question_id FROM {answer} "
        f"WHERE question_id IN ({marks}) AND response_id IN ({accepted})"
        f") a{join} GROUP BY a.question_id"
    )
    return _fetch(sql, ids + accepted_params)


def answer_counts_by_dimension(
    *,
    survey_id: int,
    question_ids: list[int],
    dimension_ids: list[int],
    weight_table: str | None = None,
) -> list[AggregateRow]:
    """(dimension, segment, question, choice, column, n[, sums]): one dimension at a time.

    A respondent who picked several segments of a multi-choice dimension counts in each.
    """
    if not question_ids or not dimension_ids:
        return []
    answer = Answer._meta.db_table
    accepted, accepted_params = _accepted_ids_sql(survey_id)
    join, sums = _weight_sql(weight_table, "a")
    marks, ids = _in(question_ids)
    dimension_marks, dimensions = _in(dimension_ids)
    sql = (
        f"SELECT d.question_id, d.choice_id, a.question_id, a.choice_id, a.column_id, "
        f"COUNT(*){sums} "
        f"FROM {answer} a JOIN {answer} d ON d.response_id = a.response_id{join} "
        f"WHERE a.question_id IN ({marks}) AND a.choice_id IS NOT NULL "
        f"AND d.question_id IN ({dimension_marks}) AND d.choice_id IS NOT NULL "
        f"AND d.question_id <> a.question_id AND a.response_id IN ({accepted}) "
        "GROUP BY d.question_id, d.choice_id, a.question_id, a.choice_id, a.column_id"
    )
    return _fetch(sql, ids + dimensions + accepted_params)


def answer_bases_by_dimension(
    *,
    survey_id: int,
    question_ids: list[int],
    dimension_ids: list[int],
    weight_table: str | None = None,
) -> list[AggregateRow]:
    """(dimension, segment, question, respondents[, sums]) for multi-choice questions."""
    if not question_ids or not dimension_ids:
        return []
    answer = Answer._meta.db_table
    accepted, accepted_params = _accepted_ids_sql(survey_id)
    join, sums = _weight_sql(weight_table, "a")
    marks, ids = _in(question_ids)
    dimension_marks, dimensions = _in(dimension_ids)
    sql = (
        f"SELECT d.question_id, d.choice_id, a.question_id, COUNT(*){sums} FROM ("
        f"SELECT DISTINCT response_id, question_id FROM {answer} "
        f"WHERE question_id IN ({marks}) AND response_id IN ({accepted})"
        f") a JOIN {answer} d ON d.response_id = a.response_id{join} "
        f"WHERE d.question_id IN ({dimension_marks}) AND d.choice_id IS NOT NULL "
        f"AND d.question_id <> a.question_id "
        "GROUP BY d.question_id, d.choice_id, a.question_id"
    )
    return _fetch(sql, ids + accepted_params + dimensions)


def answer_pairs(
    *, survey_id: int, first_id: int, second_id: int, weight_table: str | None = None
) -> list[AggregateRow]:
    """(first choice, second choice, n[, sums]) among those who answered both questions."""
    answer = Answer._meta.db_table
    accepted, accepted_params = _accepted_ids_sql(survey_id)
    join, sums = _weight_sql(weight_table, "f")
    sql = (
        f"SELECT f.choice_id, t.choice_id, COUNT(*){sums} "
        f"FROM {answer} f JOIN {answer} t ON t.response_id = f.response_id{join} "
        "WHERE f.question_id = %s AND t.question_id = %s "
        "AND f.choice_id IS NOT NULL AND t.choice_id IS NOT NULL "
        f"AND f.response_id IN ({accepted}) "
        "GROUP BY f.choice_id, t.choice_id"
    )
    return _fetch(sql, (first_id, second_id) + accepted_params)


def responses_with_choice_and_another(
    *, survey_id: int, question_id: int, choice_id: int
) -> list[int]:
    """Accepted responses that picked `choice_id` and some other choice of the same question
    (such as "None" together with a framework), in id order."""
    answer = Answer._meta.db_table
    accepted, accepted_params = _accepted_ids_sql(survey_id)
    # From the few who picked the choice, a lookup each in the (response, question, choice)
    # index: cheaper than grouping every answer to the question by respondent.
    sql = (
        f"SELECT c.response_id FROM {answer} c "
        f"WHERE c.question_id = %s AND c.choice_id = %s AND c.response_id IN ({accepted}) "
        f"AND EXISTS (SELECT 1 FROM {answer} o WHERE o.response_id = c.response_id "
        "AND o.question_id = c.question_id AND o.choice_id IS NOT NULL "
        "AND o.choice_id <> c.choice_id) "
        "ORDER BY c.response_id"
    )
    return [row[0] for row in _fetch(sql, (question_id, choice_id, *accepted_params))]


def respondent_answers(
    *, response_ids: list[int], question_ids: list[int]
) -> list[tuple[int, int, int, int | None]]:
    """(response, question, choice, column) of the given responses' answers to the questions."""
    if not response_ids or not question_ids:
        return []
    if connection.vendor != "postgresql":  # no arrays: the ORM spells out the lists
        return list(
            Answer.objects.filter(
                response_id__in=response_ids, question_id__in=question_ids, choice__isnull=False
            )
            .order_by("response_id", "question_id", "choice_id", "column_id")
            .values_list("response_id", "question_id", "choice_id", "column_id")
        )
    # Two array parameters rather than one placeholder per id, and no model layer: the
    # same rows (nulls last, as the ORM orders them) for thousands of respondents.
    sql = (
        "SELECT response_id, question_id, choice_id, column_id "
        f"FROM {Answer._meta.db_table} "
        "WHERE response_id = ANY(%s) AND question_id = ANY(%s) AND choice_id IS NOT NULL "
        "ORDER BY response_id, question_id, choice_id, column_id"
    )
    return [tuple(row) for row in _fetch(sql, (list(response_ids), list(question_ids)))]
