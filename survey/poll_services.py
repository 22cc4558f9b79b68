"""Writes for quick polls: create a poll, vote, schedule the next round.

A poll is a one-question survey in a series of its own (each round a wave); a vote is a
response like any other (respondent hash, channel, IP hash, curation, the per-network
submission budget), written through the response services: this module only checks the
ballot against the poll's one question and runs the steps of a response at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import Choice, Question, Response, Series, Survey
from .services import (
    RateLimitedError,
    Structure,
    SurveyError,
    response_save_page,
    response_start,
    response_submit,
    survey_copy_as_wave,
    survey_create,
)

OTHER_MAX = 200


class BallotError(SurveyError):
    """The ballot does not fit the poll (no choice, several for a single choice, a forged key)."""


def ballot_check(*, question: Question, keys: list[str], other: str) -> list[str]:
    """The ballot's choice keys, checked against the poll's options; raises BallotError."""
    options = {c.key: c for c in question.options}
    keys = list(dict.fromkeys(k for k in keys if k))
    if not keys:
        raise BallotError("Pick an answer to vote.")
    unknown = [k for k in keys if k not in options]
    if unknown:
        raise BallotError("That answer is not one of this poll's choices. Please vote again.")
    if question.kind != Question.Kind.MULTI and len(keys) > 1:
        raise BallotError("This poll takes one answer.")
    if question.max_selections and len(keys) > question.max_selections:
        raise BallotError(f"Pick at most {question.max_selections} answers.")
    if any(options[k].is_other for k in keys) and not other.strip():
        raise BallotError('Say what your "other" answer is, or pick another choice.')
    if len(other) > OTHER_MAX:
        raise BallotError(f'Keep the "other" answer under {OTHER_MAX} characters.')
    return keys


def _stored_ballot(response: Response) -> dict[str, str]:
    """The stored vote as {choice key: "other" text ("" unless the choice is "other")}."""
    return {
        key: text
        for key, text in response.answers.filter(choice__isnull=False).values_list(
            "choice__key", "value_text"
        )
    }


def poll_vote(
    *,
    poll: Survey,
    respondent_hash: str,
    keys: list[str],
    other: str = "",
    channel: str = "direct",
    ip_hash: str = "",
) -> Response:
    """Record (or replace) the respondent's vote; one response per respondent per poll.

    A replay of the same ballot changes nothing. Raises BallotError for a ballot that does
    not fit, SurveyClosedError when the poll is not open, RateLimitedError when the network
    used up its submission budget (nothing is then stored).
    """
    structure = Structure.of(poll)
    if len(structure.questions) != 1:
        raise SurveyError("This poll is not set up yet: it needs exactly one question.")
    question = structure.questions[0]
    keys = ballot_check(question=question, keys=keys, other=other)
    is_other = {k: structure.choices[(question.pk, Choice.Role.OPTION, k)].is_other for k in keys}
    other = other.strip()[:OTHER_MAX] if any(is_other.values()) else ""
    ballot = {k: other if is_other[k] else "" for k in keys}
    response = response_start(
        survey=poll, respondent_hash=respondent_hash, channel=channel, ip_hash=ip_hash
    )
    if response.status == Response.Status.COMPLETE and _stored_ballot(response) == ballot:
        return response  # the same ballot again: a double click or a replay changes nothing
    value: str | list[str] = keys if question.kind == Question.Kind.MULTI else keys[0]
    response = response_save_page(
        response=response,
        page_position=question.page.position,
        values={question.key: value, f"{question.key}__other": other},
        next_page=question.page.position,
        structure=structure,
    )
    try:
        return response_submit(response=response, structure=structure, min_time=False)
    except RateLimitedError:
        # A refused vote leaves nothing behind: the voter posts the whole ballot again later.
        Response.objects.filter(pk=response.pk, status=Response.Status.DRAFT).delete()
        raise


def poll_report_spec(key: str) -> dict[str, Any]:
    """How a poll series' report reads: its one question across rounds."""
    return {
        "headline_question": key,
        "focus_choices": [],
        "charts": [
            {
                "name": "headline",
                "kind": "trend",
                "measure": "share",
                "title": "{question_text}",
                "subtitle": "Share of votes for each answer, by round. Bars show 95% intervals.",
                "definition": "Share = votes for the answer / votes in the round.",
            },
            {
                "name": "changes",
                "kind": "change",
                "measure": "change",
                "title": "What changed between rounds?",
                "subtitle": "Change in each answer's share between consecutive rounds, in "
                "percentage points, with 95% Newcombe intervals.",
                "definition": "Change = share in the later round - share in the earlier round; "
                "where the interval includes zero there is no detectable change.",
            },
        ],
    }


def poll_create(
    *,
    slug: str,
    text: str,
    choices: list[tuple[str, str]],
    key: str = "answer",
    multiple: bool = False,
    has_other: bool = False,
    title: str = "",
    series_slug: str = "",
    wave_label: str = "",
    status: str = Survey.Status.DRAFT,
    k_threshold: int = 10,
    quick_poll_of: Series | None = None,
    is_synthetic: bool = False,
    **survey_fields: Any,
) -> Survey:
    """A poll as the first round of its own series (published automatically, in batches).

    A poll that asks a Census question (same key and choice keys) can be marked as a
    quick-poll channel of that series with quick_poll_of: it stays a series of its own.
    """
    title = title or text
    opened = survey_fields.get("opens_at") or timezone.now()
    spec = {
        "series": {
            "slug": series_slug or slug,
            "title": title,
            "auto_publish": True,
            "k_threshold": k_threshold,
            "is_synthetic": is_synthetic,
            "report_spec": poll_report_spec(key),
        },
        "survey": {
            "slug": slug,
            "title": title,
            "wave_label": wave_label or timezone.localdate(opened).isoformat(),
            "status": status,
            "is_poll": True,
            "min_seconds": 0,
            "is_synthetic": is_synthetic,
            **survey_fields,
        },
        "pages": [
            {
                "title": title,
                "questions": [
                    {
                        "key": key,
                        "kind": Question.Kind.MULTI if multiple else Question.Kind.SINGLE,
                        "text": text,
                        "required": True,
                        "has_other": has_other,
                        "choices": choices,
                    }
                ],
            }
        ],
    }
    with transaction.atomic():
        poll = survey_create(spec=spec)
        if quick_poll_of is not None and poll.series.quick_poll_of_id != quick_poll_of.pk:
            Series.objects.filter(pk=poll.series_id).update(quick_poll_of=quick_poll_of)
            poll.series.quick_poll_of = quick_poll_of
    return poll


def poll_schedule_next(
    *, poll: Survey, opens_at: datetime, closes_at: datetime | None = None
) -> Survey:
    """The next round of a recurring poll: same question and keys, opening at opens_at.

    The current round closes when the next one opens (sooner if it already closes sooner).
    Refuses a date in the past, a round that would not close after it opens, or a date
    that already has a round.
    """
    if opens_at <= timezone.now():
        raise SurveyError("The next round must open in the future.")
    if closes_at is not None and closes_at <= opens_at:
        raise SurveyError("The next round must close after it opens.")
    label = timezone.localtime(opens_at).date().isoformat()
    if Survey.objects.filter(series=poll.series, wave_label=label).exists():
        raise SurveyError(f"The series already has a round on {label}.")
    slug = f"{poll.series.slug}-{label}"[:50]
    if Survey.objects.filter(slug=slug).exists():
        raise SurveyError(f"The address /p/{slug}/ is taken.")
    with transaction.atomic():
        copy = survey_copy_as_wave(survey=poll, slug=slug, wave_label=label, title=poll.title)
        copy.is_poll = True
        copy.results_visibility = poll.results_visibility
        copy.frame_ancestors = poll.frame_ancestors
        copy.min_seconds = 0
        copy.status = Survey.Status.OPEN
        copy.opens_at, copy.closes_at = opens_at, closes_at
        copy.save()
        if poll.closes_at is None or poll.closes_at > opens_at:
            Survey.objects.filter(pk=poll.pk).update(closes_at=opens_at)
            poll.closes_at = opens_at
    return copy
