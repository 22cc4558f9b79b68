"""A wave's counts overall and by every dimension, from one pass over its answers.

A temporary *profile* table holds one row per accepted respondent: the segment of each
dimension (a choice id where nobody has more than one answer, else a bitmask of choices),
whether the respondent answered each multi-choice question, and the weight. The answers are
joined to it once and grouped by (question, choice, column) like `answer_counts`; each
segment is one more aggregate with a FILTER on the profile row. So every answer row is
read once and hashed once, instead of being joined to every dimension answer of its
respondent (the self-join of `answer_counts_by_dimension`).

The rows returned have the shapes of `answer_counts`, `answer_bases`,
`answer_counts_by_dimension` and `answer_bases_by_dimension`, with the same values. The
optional weight table follows the contract stated in `aggregates`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from ..models import Answer, Choice
from .aggregates import (
    AggregateRow,
    _accepted_ids_sql,
    _fetch,
    _in,
    answer_bases_by_dimension,
    answer_counts_by_dimension,
    weight_table_name,
)

PROFILE_TABLE = "survey_build_profile"
MASK_BITS = 62  # a multi-valued dimension with more choices is counted by a join instead


@dataclass
class WaveAggregates:
    counts: list[AggregateRow] = field(default_factory=list)
    bases: list[AggregateRow] = field(default_factory=list)
    segment_counts: list[AggregateRow] = field(default_factory=list)
    segment_bases: list[AggregateRow] = field(default_factory=list)


@dataclass
class _Dimension:
    question_id: int
    choice_ids: list[int]
    index: int
    mode: str = "value"  # value: one choice id per respondent; mask: bits; join: fallback


@contextmanager
def _profile(
    survey_id: int,
    dimensions: list[_Dimension],
    multi_ids: list[int],
    weight_table: str | None,
) -> Iterator[str]:
    accepted, accepted_params = _accepted_ids_sql(survey_id)
    columns = []
    for d in dimensions:
        mine = f"a.question_id = {int(d.question_id)}"
        columns.append(f"MIN(a.choice_id) FILTER (WHERE {mine}) AS v{d.index}")
        columns.append(f"COUNT(a.choice_id) FILTER (WHERE {mine}) AS n{d.index}")
        if len(d.choice_ids) <= MASK_BITS:
            bits = " ".join(f"WHEN {int(c)} THEN {1 << b}" for b, c in enumerate(d.choice_ids))
            columns.append(
                f"CAST(SUM(CASE a.choice_id {bits} END) FILTER (WHERE {mine}) AS BIGINT) "
                f"AS m{d.index}"
            )
    for j, q in enumerate(multi_ids):
        columns.append(
            f"CAST(COUNT(*) FILTER (WHERE a.question_id = {int(q)}) > 0 AS INTEGER) AS b{j}"
        )
    wanted = [int(d.question_id) for d in dimensions] + [int(q) for q in multi_ids]
    weight, weight_join = "1.0", ""
    if weight_table is not None:
        table = weight_table_name(weight_table)
        weight, weight_join = "w.w", f" JOIN {table} w ON w.response_id = r.id"
    select = ", ".join(["r.id AS response_id", f"MAX({weight}) AS w", *columns])
    answers = ""
    if wanted:
        answers = (
            f" LEFT JOIN {Answer._meta.db_table} a ON a.response_id = r.id "
            f"AND a.question_id IN ({', '.join(str(q) for q in wanted)})"
        )
    sql = (
        f"CREATE TEMPORARY TABLE {PROFILE_TABLE} AS SELECT {select} "
        f"FROM ({accepted}) r{weight_join}{answers} GROUP BY r.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PROFILE_TABLE}")
        cursor.execute(sql, accepted_params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {PROFILE_TABLE}")
    try:
        yield PROFILE_TABLE
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {PROFILE_TABLE}")


def _modes(dimensions: list[_Dimension]) -> None:
    """Value columns where nobody picked two segments; else masks, or the join fallback."""
    if not dimensions:
        return
    most = _fetch(
        f"SELECT {', '.join(f'MAX(n{d.index})' for d in dimensions)} FROM {PROFILE_TABLE}", ()
    )[0]
    for d, n in zip(dimensions, most, strict=True):
        if (n or 0) > 1:
            d.mode = "mask" if len(d.choice_ids) <= MASK_BITS else "join"


def _segments(dimensions: list[_Dimension]) -> list[tuple[int, int, str]]:
    """(dimension, segment, condition on the profile row p) for every countable segment."""
    found = []
    for d in dimensions:
        for bit, choice_id in enumerate(d.choice_ids):
            if d.mode == "value":
                found.append((d.question_id, choice_id, f"p.v{d.index} = {int(choice_id)}"))
            elif d.mode == "mask":
                found.append((d.question_id, choice_id, f"(p.m{d.index} & {1 << bit}) <> 0"))
    return found


def _filtered(segments: list[tuple[int, int, str]], weighted: bool, count: str, w: str) -> str:
    """The aggregates of a row: overall, then one per segment (FILTER), with weighted sums."""
    parts = [count, f"SUM({w})", f"SUM({w} * {w})"] if weighted else [count]
    found = [*parts]
    for _, _, condition in segments:
        found += [f"{part} FILTER (WHERE {condition})" for part in parts]
    return ", ".join(found)


def _unpack(row: AggregateRow, width: int) -> list[tuple[float, ...]]:
    """The row's aggregates, `width` values each (None where no respondent matched)."""
    return [tuple(float(v or 0) for v in row[at : at + width]) for at in range(0, len(row), width)]


def wave_aggregates(
    *,
    survey_id: int,
    question_ids: list[int],
    multi_ids: list[int],
    dimension_ids: list[int],
    weight_table: str | None = None,
) -> WaveAggregates:
    """Counts and multi-choice bases of a wave, overall and by each dimension."""
    result = WaveAggregates()
    if not question_ids:
        return result
    weighted = weight_table is not None
    choices: dict[int, list[int]] = defaultdict(list)
    for question_id, choice_id in (
        Choice.objects.filter(question_id__in=dimension_ids)
        .order_by("question_id", "id")
        .values_list("question_id", "id")
    ):
        choices[question_id].append(choice_id)
    dimensions = [_Dimension(q, choices[q], i) for i, q in enumerate(dimension_ids)]
    with _profile(survey_id, dimensions, multi_ids, weight_table) as profile:
        _modes(dimensions)
        segments = _segments(dimensions)
        width = 3 if weighted else 1
        marks, ids = _in(question_ids)
        sql = (
            f"SELECT a.question_id, a.choice_id, a.column_id, "
            f"{_filtered(segments, weighted, 'COUNT(*)', 'p.w')} "
            f"FROM {Answer._meta.db_table} a JOIN {profile} p ON p.response_id = a.response_id "
            f"WHERE a.question_id IN ({marks}) AND a.choice_id IS NOT NULL "
            "GROUP BY a.question_id, a.choice_id, a.column_id"
        )
        for row in _fetch(sql, ids):
            key, sums = tuple(row[:3]), _unpack(row[3:], width)
            result.counts.append((*key, int(sums[0][0]), *sums[0][1:]))
            for (dimension, segment, _), found in zip(segments, sums[1:], strict=True):
                if found[0] and dimension != key[0]:
                    result.segment_counts.append(
                        (dimension, segment, *key, int(found[0]), *found[1:])
                    )
        if multi_ids:  # every multi-choice question's bases in one pass over the profile
            sql = "SELECT " + ", ".join(
                _filtered(segments, weighted, f"SUM(p.b{j})", f"p.b{j} * p.w")
                for j in range(len(multi_ids))
            )
            found_all = _unpack(_fetch(f"{sql} FROM {profile} p", ())[0], width)
            per_question = len(segments) + 1
            for j, question_id in enumerate(multi_ids):
                sums = found_all[j * per_question : (j + 1) * per_question]
                if sums[0][0]:
                    result.bases.append((question_id, int(sums[0][0]), *sums[0][1:]))
                for (dimension, segment, _), found in zip(segments, sums[1:], strict=True):
                    if found[0] and dimension != question_id:
                        result.segment_bases.append(
                            (dimension, segment, question_id, int(found[0]), *found[1:])
                        )
    fallback = [d.question_id for d in dimensions if d.mode == "join"]
    if fallback:
        arguments: dict[str, Any] = {
            "survey_id": survey_id,
            "dimension_ids": fallback,
            "weight_table": weight_table,
        }
        result.segment_counts += answer_counts_by_dimension(question_ids=question_ids, **arguments)
        result.segment_bases += answer_bases_by_dimension(question_ids=multi_ids, **arguments)
    return result
