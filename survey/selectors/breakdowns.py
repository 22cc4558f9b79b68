"""A wave's counts overall and by every dimension, from one GROUP BY over its answers.

The database groups the wave's answers by (question, choice, column), like `answer_counts`,
and returns with each group the ids of its respondents, packed into one binary string
(PostgreSQL) or as plain rows (elsewhere). numpy does the rest: each respondent's segment of
every dimension comes from the dimension's own groups, and one `bincount` per dimension
counts every group in every segment. The SQL breakdown this replaces joined the answers to
a temporary per-respondent table with one FILTERed aggregate per segment (about 45 for the
Census), several times the cost of the plain GROUP BY; packing the ids costs about as much
as counting them, and what numpy does with them much less.

A respondent is in a segment when they hold an answer with that choice of the dimension
(a multiple-choice dimension, or two answers to a single-choice one, puts them in several).

The rows returned have the shapes of `answer_counts`, `answer_bases`,
`answer_counts_by_dimension` and `answer_bases_by_dimension`, with the same values. The
optional weight table follows the contract stated in `aggregates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from django.db import connection

from ..models import Answer, Choice, Response
from .aggregates import AggregateRow, _accepted_ids_sql, _fetch, _in, weight_table_name

INT4_MAX = 2**31 - 1


@dataclass
class WaveAggregates:
    counts: list[AggregateRow] = field(default_factory=list)
    bases: list[AggregateRow] = field(default_factory=list)
    segment_counts: list[AggregateRow] = field(default_factory=list)
    segment_bases: list[AggregateRow] = field(default_factory=list)


@dataclass
class _Respondents:
    ids: np.ndarray  # response ids, ascending, in the order of the weights
    w: np.ndarray
    w2: np.ndarray


def _positions(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's position in the ascending `ids`, or -1: through a lookup table where
    the ids are dense enough (a wave's responses mostly are), else by bisection."""
    if not len(ids):
        return np.full(len(values), -1, dtype=np.int64)
    low, span = int(ids[0]), int(ids[-1]) - int(ids[0]) + 1
    if span > 4 * len(ids) + 4096:
        at = np.minimum(np.searchsorted(ids, values), len(ids) - 1)
        return np.where(ids[at] == values, at, -1)
    table = np.full(span + 1, -1, dtype=np.int64)  # the last slot: anything out of range
    table[ids - low] = np.arange(len(ids))
    offsets = values - low
    return table[np.where((offsets >= 0) & (offsets < span), offsets, span)]


def _respondents(survey_id: int, weight_table: str | None, wide: bool) -> _Respondents:
    """Every accepted respondent of the wave (those of the weight table, when given)."""
    accepted, params = _accepted_ids_sql(survey_id)
    table = weight_table_name(weight_table) if weight_table is not None else None
    source = f"({accepted}) r"
    if table is not None:
        source += f" JOIN {table} w ON w.response_id = r.id"
    if connection.vendor == "postgresql":
        send = "int8send(r.id)" if wide else "int4send(r.id::integer)"
        weight = "float8send(w.w)" if table is not None else "''::bytea"
        sql = (
            f"SELECT string_agg({send}, ''::bytea ORDER BY r.id), "
            f"string_agg({weight}, ''::bytea ORDER BY r.id) FROM {source}"
        )
        packed_ids, packed_weights = _binary(sql, params)[0]
        ids = np.frombuffer(packed_ids or b"", dtype=">i8" if wide else ">i4").astype(np.int64)
        w = np.frombuffer(packed_weights or b"", dtype=">f8").astype(np.float64)
        if table is None:
            w = np.ones(len(ids))
    else:
        sql = f"SELECT r.id, {'w.w' if table else '1.0'} FROM {source} ORDER BY r.id"
        rows = _fetch(sql, tuple(params))
        ids = np.array([pk for pk, _ in rows], dtype=np.int64)
        w = np.array([float(w) for _, w in rows], dtype=np.float64)
    return _Respondents(ids, w, w * w)


def _wide(survey_id: int) -> bool:
    """Whether response ids need 8 bytes (else 4 are sent: half the bytes to read)."""
    sql = f"SELECT MAX(id) FROM {Response._meta.db_table} WHERE survey_id = %s"
    (highest,) = _fetch(sql, (survey_id,))[0]
    return highest is not None and highest > INT4_MAX


def _binary(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows with binary values (bytea as bytes, not hex) on PostgreSQL.

    Django's cursors bind parameters on the client, which rules out binary results: a plain
    psycopg cursor on the same connection (and transaction) reads them.
    """
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


@dataclass
class _Groups:
    """Answers grouped by (question, choice, column): a choice or column 0 stands for none."""

    keys: list[tuple[int, int, int]]
    group: np.ndarray  # per answer, its group's position in `keys`, in that order
    response: np.ndarray  # per answer, its respondent's response id


def _groups(sql: str, params: Sequence[Any], wide: bool, ordered: bool) -> _Groups:
    """The answers of `sql` (question, choice, column, then `{ids}` for the response id),
    grouped. On PostgreSQL the database groups them and packs each group's ids into one
    binary value (a COPY or a row per answer would cost a Python step per answer).

    `ordered` puts each group's answers in the order they were written (answer ids), so
    that sums of weights over them add up in the same order whatever plan the database
    chose: sums of floats depend on their order in the last bits.
    """
    if connection.vendor == "postgresql":
        send = "int8send(a.response_id)" if wide else "int4send(a.response_id::integer)"
        packed = f"string_agg({send}, ''::bytea{' ORDER BY a.id' if ordered else ''})"
        rows = _binary(sql.format(ids=packed) + " GROUP BY 1, 2, 3", params)
        ids = [np.frombuffer(row[3], dtype=">i8" if wide else ">i4") for row in rows]
        sizes = [len(part) for part in ids]
        response = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        group = np.repeat(np.arange(len(rows)), sizes)
        return _Groups([(q, c, col) for q, c, col, _ in rows], group, response)
    order_by = " ORDER BY a.id" if ordered else ""
    rows = _fetch(sql.format(ids="a.response_id") + order_by, tuple(params))
    if not rows:
        return _Groups([], np.zeros(0, np.int64), np.zeros(0, np.int64))
    frame = pd.DataFrame(rows, columns=["question", "choice", "column", "response"])
    group, keys = pd.MultiIndex.from_frame(frame[["question", "choice", "column"]]).factorize()
    order = np.argsort(group, kind="stable")
    response = frame["response"].to_numpy(np.int64)[order]
    return _Groups(list(keys), np.asarray(group)[order], response)


def _sums(
    codes: np.ndarray, weights: tuple[np.ndarray, np.ndarray] | None, size: int
) -> list[np.ndarray]:
    """Per code: the number of rows and, with weights, the sums of w and of w^2."""
    found: list[np.ndarray] = [np.bincount(codes, minlength=size)]
    if weights is not None:
        found += [np.bincount(codes, weights=part, minlength=size) for part in weights]
    return found


def _values(sums: list[np.ndarray], at: Any) -> tuple[Any, ...]:
    return (int(sums[0][at]), *(float(part[at]) for part in sums[1:]))


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
    wide = _wide(survey_id)
    people = _respondents(survey_id, weight_table, wide)
    wanted = list(dict.fromkeys([*question_ids, *dimension_ids, *multi_ids]))
    accepted, accepted_params = _accepted_ids_sql(survey_id)
    marks, ids = _in(wanted)
    multi_marks, multi_params = _in(multi_ids)
    # A multiple-choice question's base counts whoever answered it, with a choice or not.
    or_multi = f" OR a.question_id IN ({multi_marks})" if multi_ids else ""
    sql = (
        "SELECT a.question_id, COALESCE(a.choice_id, 0), COALESCE(a.column_id, 0), {ids} "
        f"FROM {Answer._meta.db_table} a "
        f"WHERE a.question_id IN ({marks}) AND (a.choice_id IS NOT NULL{or_multi}) "
        f"AND a.response_id IN ({accepted})"
    )
    found = _groups(sql, (*ids, *multi_params, *accepted_params), wide, ordered=weighted)
    who = _positions(people.ids, found.response)
    mine = who >= 0  # a respondent left out of the weight table is not counted
    who, group = who[mine], found.group[mine]
    starts = np.searchsorted(group, np.arange(len(found.keys) + 1))  # each group's answers
    key_question = np.array([q for q, _, _ in found.keys], dtype=np.int64)
    key_choice = np.array([c for _, c, _ in found.keys], dtype=np.int64)
    counted = np.isin(key_question, question_ids) & (key_choice != 0)
    n_groups = len(found.keys)
    weights = (people.w, people.w2) if weighted else None
    answer_weights = (people.w[who], people.w2[who]) if weighted else None
    overall = _sums(group, answer_weights, n_groups)
    names = [(q, c, col or None) for q, c, col in found.keys]
    for at in np.flatnonzero(counted & (overall[0] > 0)):
        result.counts.append((*names[at], *_values(overall, at)))

    answered = np.zeros((len(multi_ids), len(people.ids)), dtype=bool)
    for j, question_id in enumerate(multi_ids):
        for g in np.flatnonzero(key_question == question_id):
            answered[j, who[starts[g] : starts[g + 1]]] = True
        base = _sums(answered[j].astype(np.int64), weights, 2)
        if base[0][1]:
            result.bases.append((question_id, *_values(base, 1)))

    segment_ids: dict[int, list[int]] = {d: [] for d in dimension_ids}
    for question_id, choice_id in (
        Choice.objects.filter(question_id__in=dimension_ids)
        .order_by("question_id", "id")
        .values_list("question_id", "id")
    ):
        segment_ids[question_id].append(choice_id)
    for dimension_id in dimension_ids:
        position = {g: i for i, g in enumerate(found.keys) if g[0] == dimension_id and g[1]}
        members = []  # per segment, whether each respondent is in it
        for choice_id in segment_ids[dimension_id]:
            member = np.zeros(len(people.ids), dtype=bool)
            found_at = position.get((dimension_id, choice_id, 0))
            if found_at is not None:
                member[who[starts[found_at] : starts[found_at + 1]]] = True
            members.append(member)
        stack = np.array(members).reshape(len(members), len(people.ids))
        if stack.sum(axis=0).max(initial=0) <= 1:  # one segment each: one pass for all
            per = len(members) + 1
            segment = np.where(stack.any(axis=0), stack.argmax(axis=0), len(members))
            sums = _sums(group * per + segment[who], answer_weights, n_groups * per)
            by_segment = [[part[s::per] for part in sums] for s in range(len(members))]
        else:
            by_segment = []
            for member in members:
                inside = member[who]
                part = None
                if answer_weights is not None:
                    part = (answer_weights[0][inside], answer_weights[1][inside])
                by_segment.append(_sums(group[inside], part, n_groups))
        for s, segment_id in enumerate(segment_ids[dimension_id]):
            sums = by_segment[s]
            for at in np.flatnonzero(sums[0] * (counted & (key_question != dimension_id))):
                row = (dimension_id, segment_id, *names[at], *_values(sums, at))
                result.segment_counts.append(row)
            for j, question_id in enumerate(multi_ids):
                if question_id == dimension_id:
                    continue
                base = _sums((answered[j] & members[s]).astype(np.int64), weights, 2)
                if base[0][1]:
                    result.segment_bases.append(
                        (dimension_id, segment_id, question_id, *_values(base, 1))
                    )
    return result
