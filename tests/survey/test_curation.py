"""Curation services: exclusions with reasons, quality flags, companies."""

import random

import pytest

from survey.curation import (
    DUPLICATE_RESPONDENT,
    NEAR_DUPLICATE,
    STRAIGHT_LINING,
    TOO_FAST,
    CurationError,
    company_counts,
    company_normalize,
    exclusions_by_reason,
    near_duplicates,
    quality_flags_compute,
    response_exclude,
    response_restore,
)
from survey.models import CurationLog, Response
from tests.factories import imported_response

BASE = {
    "role": "data-scientist",
    "company_size": "50-249",
    "industry": "tech",
    "region": "europe",
    "ml_experience": "2-5",
    "project_types": ["research"],
    "domains": ["llm-nlp"],
    "frameworks_used": ["pytorch", "jax"],
    "migrated": "no",
    "primary_framework": "pytorch",
    "satisfaction": "4",
    "framework_status": {"pytorch": "new-projects", "jax": "evaluating"},
}


def _make(census, n, values, **fields):
    return imported_response(census, respondent_hash=f"r{n}", values=values, **fields)


def test_exclude_and_restore_log_who_when_why(census, curator):
    response = _make(census, 1, BASE)
    assert response_exclude(response_ids=[response.pk], reason="Bot", user=curator) == 1
    response.refresh_from_db()
    assert (response.curation, response.exclusion_reason, response.curated_by) == (
        "excluded",
        "Bot",
        curator,
    )
    assert exclusions_by_reason(survey_ids=[census.pk]) == {"Bot": 1}
    assert response_restore(response_ids=[response.pk], reason="Human after all", user=curator)
    response.refresh_from_db()
    assert response.curation == "accepted"
    assert list(CurationLog.objects.values_list("action", "reason", "user")) == [
        ("restore", "Human after all", curator.pk),
        ("exclude", "Bot", curator.pk),
    ]


def test_exclude_requires_a_reason(census, curator):
    response = _make(census, 1, BASE)
    with pytest.raises(CurationError):
        response_exclude(response_ids=[response.pk], reason="  ", user=curator)


def test_flags_too_fast_straight_lining_and_shared_network(census):
    fast = _make(census, 1, BASE, duration_seconds=5)
    straight = _make(
        census,
        2,
        {
            **BASE,
            "framework_status": {
                k: "never" for k in ["tensorflow", "keras", "mxnet", "flax", "mlx", "catboost"]
            },
        },
        duration_seconds=600,
    )
    shared_a = _make(census, 3, {**BASE, "role": "student"}, ip_hash="x", duration_seconds=600)
    shared_b = _make(census, 4, {**BASE, "role": "manager"}, ip_hash="x", duration_seconds=600)
    counts = quality_flags_compute(survey_id=census.pk)
    flags = dict(Response.objects.values_list("pk", "quality_flags"))
    assert TOO_FAST in flags[fast.pk]
    assert STRAIGHT_LINING in flags[straight.pk]
    assert DUPLICATE_RESPONDENT in flags[shared_a.pk] and DUPLICATE_RESPONDENT in flags[shared_b.pk]
    assert counts[DUPLICATE_RESPONDENT] == 2


def test_near_duplicates_are_flagged_and_different_answers_are_not(census):
    one = _make(census, 1, BASE, duration_seconds=600)
    copy = _make(census, 2, {**BASE, "satisfaction": "5"}, duration_seconds=600)
    other = _make(
        census,
        3,
        {
            "role": "student",
            "region": "africa",
            "ml_experience": "none",
            "project_types": ["competitions"],
            "domains": ["vision"],
            "frameworks_used": ["keras"],
            "migrated": "yes",
            "migration_from": "keras",
            "migration_to": "pytorch",
            "primary_framework": "keras",
            "satisfaction": "2",
        },
        duration_seconds=600,
    )
    quality_flags_compute(survey_id=census.pk)
    flags = dict(Response.objects.values_list("pk", "quality_flags"))
    assert NEAR_DUPLICATE in flags[one.pk] and NEAR_DUPLICATE in flags[copy.pk]
    assert NEAR_DUPLICATE not in flags[other.pk]


def _brute(answers, share=0.75, min_questions=8):
    keep = {k: v for k, v in answers.items() if len(v) >= min_questions}
    found = set()
    for a in keep:
        for b in keep:
            if a < b:
                either = keep[a].keys() | keep[b].keys()
                same = sum(1 for q in either if keep[a].get(q, -1) == keep[b].get(q, -2))
                if same > share * len(either):
                    found |= {a, b}
    return found


def test_near_duplicates_agree_with_all_pairs():
    rng = random.Random(7)
    answers = {
        pk: {q: rng.randint(0, 1) for q in range(12) if rng.random() < 0.9} for pk in range(300)
    }
    expected = _brute(answers)
    assert expected  # the data has some, so the comparison means something
    assert near_duplicates(answers) == expected


def test_near_duplicates_of_24k_responses_take_seconds():
    import time

    rng = random.Random(3)
    answers = {pk: {q: rng.randint(0, 4) for q in range(16)} for pk in range(24_000)}
    started = time.perf_counter()
    near_duplicates(answers)
    assert time.perf_counter() - started < 20


def test_company_names_normalize_and_count(census):
    assert company_normalize("ACME Analytics, Inc.") == company_normalize("acme analytics")
    for n, name in enumerate(["Acme Analytics Inc.", "ACME analytics", "Globex GmbH"]):
        _make(census, n, {**BASE, "company_name": name}, duration_seconds=600)
    quality_flags_compute(survey_id=census.pk)
    rows = company_counts(survey_id=census.pk)
    assert [(r["company_normalized"], r["n"]) for r in rows] == [
        ("acme analytics", 2),
        ("globex", 1),
    ]


def test_the_free_text_review_counts_completed_responses_only(census):
    from survey.curation import other_text_groups

    values = {**BASE, "frameworks_used": ["other"], "frameworks_used__other": "Frobnicate"}
    _make(census, 1, values)
    draft = _make(census, 2, values)
    Response.objects.filter(pk=draft.pk).update(status=Response.Status.DRAFT)
    groups = [g for g in other_text_groups(kind="framework") if g.label == "Frobnicate"]
    assert [g.count for g in groups] == [1]


def test_recomputing_flags_keeps_flags_raised_elsewhere(census):
    response = _make(census, 1, BASE, duration_seconds=5)
    Response.objects.filter(pk=response.pk).update(quality_flags=["identical-body"])
    quality_flags_compute(survey_id=census.pk)
    response.refresh_from_db()
    assert response.quality_flags == [TOO_FAST, "identical-body"]
