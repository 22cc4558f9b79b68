"""The weight table contract of survey.selectors' aggregates (see survey/selectors/aggregates.py):
a caller's table of (response_id, w), inner-joined, adding SUM(w) and SUM(w * w)."""

import numpy as np
import pytest
from django.db import connection

from results.weighting import weight_table
from survey.selectors import WEIGHT_TABLE_COLUMNS, answer_bases, answer_counts, wave_aggregates
from tests.factories import imported_response

ROLES = ["student", "student", "data-scientist"]


@pytest.fixture
def answered(census):
    responses = [
        imported_response(census, respondent_hash=f"r{i}", values={"role": role})
        for i, role in enumerate(ROLES)
    ]
    return census, responses


def contract_table(rows: list[tuple[int, float]]) -> str:
    columns = ", ".join(f"{name} {kind}" for name, kind in WEIGHT_TABLE_COLUMNS.items())
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS contract_weights")
        cursor.execute(f"CREATE TEMPORARY TABLE contract_weights ({columns})")
        cursor.executemany("INSERT INTO contract_weights VALUES (%s, %s)", rows)
    return "contract_weights"


@pytest.mark.django_db
def test_a_weight_table_adds_the_sum_of_weights_and_of_their_squares(answered):
    census, responses = answered
    role = census.questions.get(key="role")
    table = contract_table([(r.pk, w) for r, w in zip(responses, [0.5, 1.5, 2.0], strict=True)])
    rows = answer_counts(survey_id=census.pk, question_ids=[role.pk], weight_table=table)
    by_choice = {role.choices.get(pk=row[1]).key: row[3:] for row in rows}
    assert by_choice["student"] == (2, 2.0, 0.5**2 + 1.5**2)
    assert by_choice["data-scientist"] == (1, 2.0, 4.0)


@pytest.mark.django_db
def test_a_response_missing_from_the_weight_table_is_not_counted(answered):
    census, responses = answered
    role = census.questions.get(key="role")
    table = contract_table([(responses[0].pk, 1.0)])
    rows = answer_bases(survey_id=census.pk, question_ids=[role.pk], weight_table=table)
    assert rows == [(role.pk, 1, 1.0, 1.0)]
    profile = wave_aggregates(
        survey_id=census.pk,
        question_ids=[role.pk],
        multi_ids=[],
        dimension_ids=[],
        weight_table=table,
    )
    assert sum(row[3] for row in profile.counts) == 1


@pytest.mark.django_db
def test_a_weight_table_name_that_is_not_an_identifier_is_refused(answered):
    census, _ = answered
    role = census.questions.get(key="role")
    with pytest.raises(ValueError, match="plain SQL identifier"):
        answer_counts(survey_id=census.pk, question_ids=[role.pk], weight_table="w; DROP x")


@pytest.mark.django_db
def test_results_weight_table_keeps_to_the_contract(answered):
    _, responses = answered
    with weight_table([r.pk for r in responses], np.ones(len(responses))) as name:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = %s ORDER BY ordinal_position",
                [name],
            )
            assert dict(cursor.fetchall()) == WEIGHT_TABLE_COLUMNS
