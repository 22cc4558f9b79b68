"""A wave's figures: counts and bases from SQL GROUP BY, weighted sums when weighting."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from survey import selectors
from survey.models import Choice, Question, Survey

from .. import disclosure, estimates, weighting
from ..disclosure import Figure
from ..models import WeightingTarget
from ..spec import ReportSpec, spec_for
from .cells import Sums, rounded
from .structure import (
    dimension_questions,
    published_questions,
)


@dataclass
class WaveResult:
    figures: list[Figure]
    sums: list[Sums | None]
    design_effect: float | None


Aggregates = dict[tuple[Any, ...], tuple[float, float, float]]


def _collect(rows: Iterable[tuple[Any, ...]], width: int, weighted: bool) -> Aggregates:
    """Aggregate rows keyed by their first `width` columns: (n, sum w, sum w^2)."""
    found: Aggregates = {}
    for row in rows:
        n = float(row[width])
        if weighted:
            found[tuple(row[:width])] = (n, float(row[width + 1]), float(row[width + 2]))
        else:
            found[tuple(row[:width])] = (n, n, n)
    return found


def _add(*parts: tuple[float, float, float]) -> tuple[float, float, float]:
    return (sum(p[0] for p in parts), sum(p[1] for p in parts), sum(p[2] for p in parts))


ZERO = (0.0, 0.0, 0.0)


def _wave_weights(
    survey: Survey, questions: list[Question], targets: list[WeightingTarget], cap: int | None
) -> tuple[list[int], np.ndarray]:
    respondents = selectors.accepted_respondents(survey_id=survey.pk)
    ids = [pk for pk, _ in respondents]
    companies = [company for _, company in respondents]
    by_key = {q.key: q for q in questions if q.kind == Question.Kind.SINGLE}
    dimensions = sorted({t.dimension for t in targets if t.dimension in by_key})
    categories = np.full((len(ids), len(dimensions)), -1, dtype=np.int64)
    margins: list[dict[int, float]] = []
    for dimension in dimensions:
        codes = {c.key: c.pk for c in by_key[dimension].options}
        margins.append(
            {
                codes[t.segment]: t.share
                for t in targets
                if t.dimension == dimension and t.segment in codes
            }
        )
    if dimensions and ids:
        rows = np.array(
            selectors.respondent_choices(
                survey_id=survey.pk, question_ids=[by_key[d].pk for d in dimensions]
            ),
            dtype=np.int64,
        ).reshape(-1, 3)
        positions = np.searchsorted(np.array(ids, dtype=np.int64), rows[:, 0])
        column_of = {by_key[d].pk: i for i, d in enumerate(dimensions)}
        columns = np.array([column_of[q] for q in rows[:, 1]], dtype=np.int64)
        categories[positions, columns] = rows[:, 2]
    weights = weighting.respondent_weights(
        categories=categories, margins=margins, companies=companies, employer_cap=cap
    )
    return ids, weights


def _sub(whole: tuple[float, float, float], part: tuple[float, float, float] | None):
    return whole if part is None else (whole[0] - part[0], whole[1] - part[1], whole[2] - part[2])


def _contradicting(
    survey: Survey, by_key: dict[str, Question], spec: ReportSpec, weights: dict[int, float]
) -> tuple[list[int], Aggregates]:
    """Who ticked the spec's "none" choice together with another, and their answers.

    Their answers are left out of the derived measures (retention, migration): they say both
    that they use nothing and that they use something. Answers: (question, choice, column).
    """
    headline = by_key.get(spec.headline_question)
    none = next(
        (c for c in (headline.options if headline else []) if c.key == spec.none_choice),
        None,
    )
    if headline is None or none is None or headline.kind != Question.Kind.MULTI:
        return [], {}
    ids = selectors.responses_with_choice_and_another(
        survey_id=survey.pk, question_id=headline.pk, choice_id=none.pk
    )
    asked = [spec.retention.question] if spec.retention else []
    if spec.migration:
        asked += [spec.migration.from_question, spec.migration.to_question]
    question_ids = [by_key[key].pk for key in asked if key in by_key]
    sums: dict[tuple[Any, ...], list[float]] = {}  # added in place: one step per answer
    by_response: dict[int, dict[int, int]] = {}
    for response, question, choice, column in selectors.respondent_answers(
        response_ids=ids, question_ids=question_ids
    ):
        w = weights.get(response, 1.0)
        entry = sums.get((question, choice, column))
        if entry is None:
            entry = sums[(question, choice, column)] = [0.0, 0.0, 0.0]
        entry[0] += 1.0
        entry[1] += w
        entry[2] += w * w
        by_response.setdefault(response, {})[question] = choice
    found: Aggregates = {key: (n, w, w2) for key, (n, w, w2) in sums.items()}
    if spec.migration and spec.migration.from_question in by_key:
        first = by_key[spec.migration.from_question].pk
        second = by_key.get(spec.migration.to_question)
        for response, chosen in by_response.items():
            if second is not None and first in chosen and second.pk in chosen:
                w = weights.get(response, 1.0)
                pair = ("pair", chosen[first], chosen[second.pk])
                found[pair] = _add(found.get(pair, ZERO), (1.0, w, w * w))
    return ids, found


def wave_figures(
    survey: Survey, *, targets: list[WeightingTarget], cap: int | None, weighted: bool
) -> WaveResult:
    """The wave's figures: every closed question overall and by each dimension."""
    questions = published_questions(survey)
    dimensions = dimension_questions(questions)
    label = survey.wave_label
    design_effect: float | None = None
    context: Any = nullcontext(None)
    weight_of: dict[int, float] = {}
    if weighted:
        ids, weights = _wave_weights(survey, list(survey.questions.all()), targets, cap)
        if len(ids):
            n_eff = estimates.n_effective(float(weights.sum()), float((weights**2).sum()))
            design_effect = rounded(estimates.design_effect(len(ids), n_eff))
        context = weighting.weight_table(ids, weights)
        weight_of = dict(zip(ids, (float(w) for w in weights), strict=True))
    ids_of = [q.pk for q in questions]
    multi_ids = [q.pk for q in questions if q.kind == Question.Kind.MULTI]
    dimension_ids = [q.pk for q in dimensions]
    by_key = {q.key: q for q in questions}
    spec = spec_for(survey.series)
    retention = spec.retention
    moves = (spec.migration.from_question, spec.migration.to_question) if spec.migration else ()
    migration = [
        q if q is not None and q.kind == Question.Kind.SINGLE else None
        for q in (by_key.get(key) for key in moves or ("", ""))
    ]
    contradicting, left_out = _contradicting(survey, by_key, spec, weight_of)
    with context as table:
        kwargs = {"survey_id": survey.pk, "weight_table": table}
        found = selectors.wave_aggregates(
            question_ids=ids_of, multi_ids=multi_ids, dimension_ids=dimension_ids, **kwargs
        )
        counts = _collect(found.counts, 3, weighted)
        bases = _collect(found.bases, 1, weighted)
        segment_counts = _collect(found.segment_counts, 5, weighted)
        segment_bases = _collect(found.segment_bases, 3, weighted)
        pairs: Aggregates = {}
        if migration[0] is not None and migration[1] is not None:
            found_pairs = selectors.answer_pairs(
                first_id=migration[0].pk, second_id=migration[1].pk, **kwargs
            )
            pairs = _collect(found_pairs, 2, weighted)

    figures: list[Figure] = []
    sums: list[Sums | None] = []

    def emit(
        measure: str,
        question: str,
        choice: str,
        option: str,
        dimension: str,
        segment: str,
        count: tuple[float, float, float],
        base: tuple[float, float, float],
        flag: str = "",
    ) -> None:
        figures.append(
            Figure(
                measure,
                label,
                question,
                choice,
                option,
                dimension,
                segment,
                int(base[0]),
                int(count[0]),
                flag,
            )  # fmt: skip
        )
        sums.append(Sums(count[1], base[1], base[2]) if weighted else None)

    segments: list[tuple[Question | None, Choice | None]] = [(None, None)]
    segments += [(d, c) for d in dimensions for c in d.options]
    dimension_keys = [d.key for d in dimensions]
    finer = {q.key for q in questions if q.grouped_into_id}
    for question in questions:
        for dimension, segment in segments:
            if dimension is not None and not disclosure.crossed(
                question.key, dimension.key, dimension_keys, finer
            ):
                continue

            prefix: tuple[int, ...]
            if dimension is None or segment is None:
                source, prefix, names = counts, (question.pk,), ("", "")
            else:
                source = segment_counts
                prefix = (dimension.pk, segment.pk, question.pk)
                names = (dimension.key, segment.key)
            if question.kind == Question.Kind.MATRIX:
                columns = question.columns
                for row in question.rows:
                    cells = [source.get((*prefix, row.pk, column.pk), ZERO) for column in columns]
                    base = _add(*cells)
                    for column, cell in zip(columns, cells, strict=True):
                        emit("share", question.key, row.key, column.key, *names, cell, base)
                    if retention and question.key == retention.question and dimension is None:
                        kept = [
                            _sub(cell, left_out.get((question.pk, row.pk, column.pk)))
                            for column, cell in zip(columns, cells, strict=True)
                        ]
                        by_column = dict(zip((c.key for c in columns), kept, strict=True))
                        still = _add(*(by_column.get(k, ZERO) for k in retention.still_columns))
                        stopped = (by_column.get(k, ZERO) for k in retention.stopped_columns)
                        ever = _add(still, *stopped)
                        note = disclosure.CONTRADICTIONS_EXCLUDED if contradicting else ""
                        emit("retention", question.key, row.key, "", "", "", still, ever, note)
                continue
            options = question.options
            cells = [source.get((*prefix, choice.pk, None), ZERO) for choice in options]
            if question.kind == Question.Kind.MULTI:
                base = (bases if dimension is None else segment_bases).get(prefix, ZERO)
            else:
                base = _add(*cells)
            for choice, cell in zip(options, cells, strict=True):
                emit("share", question.key, choice.key, "", *names, cell, base)

    if migration[0] is not None and migration[1] is not None:
        # A move from a framework to itself is no move, and a respondent who also said they
        # use none of them contradicts the move: both are left out, and the cells say so.
        moved = {
            (origin.pk, target.pk): _sub(moved_cell, left_out.get(("pair", origin.pk, target.pk)))
            for (origin, target) in (
                (o, t) for o in migration[0].options for t in migration[1].options
            )
            if origin.key != target.key and (moved_cell := pairs.get((origin.pk, target.pk)))
        }
        self_moves = any(
            o.key == t.key and (o.pk, t.pk) in pairs
            for o in migration[0].options
            for t in migration[1].options
        )
        flag = disclosure.CONTRADICTIONS_EXCLUDED if self_moves or contradicting else ""
        switchers = _add(*moved.values()) if moved else ZERO
        for origin in migration[0].options:
            for target in migration[1].options:
                if origin.key == target.key:
                    continue
                cell = moved.get((origin.pk, target.pk), ZERO)
                emit(
                    "migration",
                    disclosure.MIGRATION,
                    origin.key,
                    target.key,
                    "",
                    "",
                    cell,
                    switchers,
                    flag,
                )
    return WaveResult(figures, sums, design_effect)
