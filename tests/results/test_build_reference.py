"""The fast build against straightforward references on small random data.

`wave_aggregates` (one pass over the answers, rolled up by dimension) must give the rows of
the plain per-dimension GROUP BY queries, and every published share must be the count a
loop over the respondents gives.
"""

import random
from collections import defaultdict

import numpy as np
import pytest

from results import weighting
from results.services import snapshot_build
from results.services.structure import published_questions
from survey import selectors
from survey.demo import demo_load
from survey.models import Answer, Choice, Question, Response, Series

SEGMENT_KINDS = ("single", "multi", "scale")


@pytest.fixture
def small_series(db) -> Series:
    return demo_load(responses_per_wave=90, seed=31)


def rows_of(rows, width: int) -> dict:
    """Rows keyed by their first `width` values, sums rounded so summation order cannot matter."""
    return {tuple(r[:width]): tuple(round(float(v), 9) for v in r[width:]) for r in rows}


def old_and_new(survey, weight_table=None):
    questions = [q for q in survey.questions.all() if q.is_closed and not q.is_sensitive]
    ids = [q.pk for q in questions]
    multi = [q.pk for q in questions if q.kind == "multi"]
    dimensions = [q.pk for q in questions if q.is_dimension and q.kind in SEGMENT_KINDS]
    given = {"survey_id": survey.pk, "weight_table": weight_table}
    old = {
        "counts": rows_of(selectors.answer_counts(question_ids=ids, **given), 3),
        "bases": rows_of(selectors.answer_bases(question_ids=multi, **given), 1),
        "segment_counts": rows_of(
            selectors.answer_counts_by_dimension(
                question_ids=ids, dimension_ids=dimensions, **given
            ),
            5,
        ),
        "segment_bases": rows_of(
            selectors.answer_bases_by_dimension(
                question_ids=multi, dimension_ids=dimensions, **given
            ),
            3,
        ),
    }
    found = selectors.wave_aggregates(
        question_ids=ids, multi_ids=multi, dimension_ids=dimensions, **given
    )
    new = {
        "counts": rows_of(found.counts, 3),
        "bases": rows_of(found.bases, 1),
        "segment_counts": rows_of(found.segment_counts, 5),
        "segment_bases": rows_of(found.segment_bases, 3),
    }
    return old, new


def test_one_pass_aggregates_equal_the_per_dimension_queries(small_series):
    for survey in selectors.series_waves(series_id=small_series.pk):
        old, new = old_and_new(survey)
        assert old["segment_counts"]
        assert new == old


def test_one_pass_aggregates_equal_the_per_dimension_queries_with_weights(small_series):
    survey = selectors.series_waves(series_id=small_series.pk)[0]
    ids = [pk for pk, _ in selectors.accepted_respondents(survey_id=survey.pk)]
    weights = np.random.default_rng(5).uniform(0.3, 3.0, len(ids))
    with weighting.weight_table(ids, weights) as table:
        old, new = old_and_new(survey, weight_table=table)
    assert new == old


def test_a_respondent_with_two_answers_to_a_single_dimension_counts_in_both(small_series):
    survey = selectors.series_waves(series_id=small_series.pk)[0]
    role = Question.objects.get(survey=survey, key="role")
    rng = random.Random(3)
    for response in Response.objects.filter(survey=survey).order_by("pk")[:12]:
        taken = set(Answer.objects.filter(response=response, question=role).values_list(
            "choice_id", flat=True))  # fmt: skip
        spare = [c for c in role.choices.all() if c.pk not in taken]
        Answer.objects.create(response=response, question=role, choice=rng.choice(spare))
    old, new = old_and_new(survey)
    assert new == old


def reference_cells(survey) -> dict[tuple, tuple[int, int]]:
    """(question, choice, option, dimension, segment) -> (base, count), by looping people."""
    accepted = Response.objects.accepted().filter(survey=survey)
    people: dict[int, dict[int, list[tuple[int, int | None]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for response_id, question_id, choice_id, column_id in Answer.objects.filter(
        response__in=accepted
    ).values_list("response_id", "question_id", "choice_id", "column_id"):
        people[response_id][question_id].append((choice_id, column_id))
    questions = [q for q in survey.questions.all() if q.is_closed and not q.is_sensitive]
    keys = {c.pk: c.key for c in Choice.objects.filter(question__survey=survey)}
    segments = [("", "", None, None)] + [
        (d.key, c.key, d.pk, c.pk)
        for d in questions
        if d.is_dimension and d.kind in SEGMENT_KINDS
        for c in d.choices.all()
        if c.role == "option"
    ]
    found = {}
    for dimension, segment, dimension_id, segment_id in segments:
        group = [
            answers
            for answers in people.values()
            if dimension_id is None or any(c == segment_id for c, _ in answers[dimension_id])
        ]
        for question in questions:
            if question.pk == dimension_id:
                continue
            choices = list(question.choices.all())
            if question.kind == "matrix":
                for row in (c for c in choices if c.role == "row"):
                    rated = [col for a in group for c, col in a[question.pk] if c == row.pk]
                    for column in (c for c in choices if c.role == "column"):
                        count = sum(1 for col in rated if col == column.pk)
                        found[(question.key, row.key, column.key, dimension, segment)] = (
                            len(rated), count)  # fmt: skip
                continue
            if question.kind == "multi":
                answered = [a for a in group if a[question.pk]]
                base = len(answered)
            else:
                answered = [a for a in group if any(c for c, _ in a[question.pk])]
                base = sum(1 for a in answered for c, _ in a[question.pk] if c is not None)
            for choice in (c for c in choices if c.role == "option"):
                count = sum(1 for a in answered for c, _ in a[question.pk] if c == choice.pk)
                found[(question.key, keys[choice.pk], "", dimension, segment)] = (base, count)
    return found


def test_every_published_share_is_the_count_a_loop_over_respondents_gives(small_series):
    Series.objects.filter(pk=small_series.pk).update(k_threshold=5)
    snapshot = snapshot_build(series_id=small_series.pk)
    checked = 0
    for survey in selectors.series_waves(series_id=small_series.pk):
        expected = reference_cells(survey)
        cells = snapshot.cells.filter(measure="share", wave=survey.wave_label)
        thin = [
            key for key in snapshot.summary["withheld_breakdowns"] if key[0] == survey.wave_label
        ]
        withheld = {tuple(key[1:3]) for key in thin if len(key) == 3}
        columns = {tuple(key[1:]) for key in thin if len(key) == 4}
        keys = {(c.question, c.choice, c.option, c.dimension, c.segment) for c in cells}
        dimension_keys = [q.key for q in published_questions(survey)
                      if q.is_dimension and q.kind in SEGMENT_KINDS]  # fmt: skip
        # Every cell is the loop's, and every loop cell is published unless its breakdown is
        # withheld as too thin or is not crossed (a finer question, or the other direction).
        assert keys <= set(expected)
        assert all((q, d) in withheld or (q, d, c) in columns or not d or (q, c, o, d, s) in keys
                   or q == "country"
                   or q in dimension_keys and dimension_keys.index(q) < dimension_keys.index(d)
                   for q, c, o, d, s in expected)  # fmt: skip
        for cell in cells:
            base, count = expected[
                (cell.question, cell.choice, cell.option, cell.dimension, cell.segment)
            ]
            if cell.base_n is not None:
                assert cell.base_n == base
            if cell.count is not None:
                assert cell.count == count
                checked += 1
            else:
                assert cell.flag
    assert checked > 500
