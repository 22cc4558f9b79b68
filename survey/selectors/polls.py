"""Read-side queries for quick polls: the open polls, one poll, a voter's ballot, vote counts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.core import signing
from django.db.models import Prefetch, Q, QuerySet

from .. import identity
from ..models import Answer, Choice, Question, Response, Survey

VOTED_SALT = "tally.poll.voted"
VOTED_MAX_AGE = 60 * 60 * 24 * 400


def _with_question(queryset: QuerySet[Survey]) -> QuerySet[Survey]:
    questions = Question.objects.select_related("page").prefetch_related(
        Prefetch(
            "choices",
            queryset=Choice.objects.filter(role=Choice.Role.OPTION).order_by("position", "id"),
        )
    )
    return queryset.select_related("series").prefetch_related(
        Prefetch("questions", queryset=questions.order_by("page__position", "position", "id"))
    )


def polls_open() -> list[Survey]:
    """Public polls accepting votes, newest first, each with its question and choices."""
    return list(
        _with_question(
            Survey.objects.accepting().polls().filter(access=Survey.Access.PUBLIC)
        ).order_by("-opens_at", "-created_at", "-pk")
    )


def poll_by_slug(*, slug: str) -> Survey | None:
    """The poll with its series, question and options (None when no poll has this slug)."""
    return _with_question(Survey.objects.polls().filter(slug=slug)).first()


def poll_open_round(*, poll: Survey) -> Survey | None:
    """Another round of the poll's series that is accepting votes now, if any."""
    return (
        Survey.objects.accepting()
        .polls()
        .filter(series_id=poll.series_id)
        .exclude(pk=poll.pk)
        .order_by("-wave_label")
        .first()
    )


def poll_question(poll: Survey) -> Question | None:
    """A poll's one question (from the prefetched questions when they are loaded)."""
    questions = list(poll.questions.all())
    return questions[0] if questions else None


def poll_ballot(*, poll: Survey, respondent_hash: str) -> list[str]:
    """The choice keys of this respondent's counted vote in the poll ([] when none)."""
    return list(
        Answer.objects.filter(
            response__survey=poll,
            response__respondent_hash=respondent_hash,
            response__status=Response.Status.COMPLETE,
            choice__isnull=False,
        )
        .order_by("choice__position")
        .values_list("choice__key", flat=True)
    )


def poll_voter_ballot(*, poll: Survey, cookies: Mapping[str, str]) -> list[str]:
    """The choice keys of the vote held by a browser's respondent cookie ([] when none).

    Either cookie counts: the poll pages' own, or the embed widget's copy (sent when the
    widget's visitor opens Tally itself).
    """
    token = identity.cookie_token(cookies, (identity.COOKIE, identity.EMBED_COOKIE))
    if token is None:
        return []
    return poll_ballot(poll=poll, respondent_hash=identity.survey_respondent_hash(poll.pk, token))


def poll_vote_count(*, poll_id: int) -> int:
    """Accepted votes in one poll (used only to say how many more are needed)."""
    return Response.objects.accepted().filter(survey_id=poll_id).count()


def series_is_poll(*, series_id: int) -> bool:
    return Survey.objects.polls().filter(series_id=series_id).exists()


def votes_changed_since(*, series_id: int, since: datetime | None) -> int:
    """Votes of a series cast, changed or curated after `since` (all when None)."""
    votes = Response.objects.complete().filter(survey__series_id=series_id)
    if since is not None:
        votes = votes.filter(Q(updated_at__gt=since) | Q(curated_at__gt=since))
    return votes.count()


def voted_proof(*, poll_id: int) -> str:
    """A signed note that its bearer voted in the poll (for results shown after voting).

    It travels in the results URL, so it works inside a third-party iframe without cookies
    (and for any client that keeps none); a browser that keeps its respondent cookie needs
    none (`poll_voter_ballot`).
    """
    return signing.dumps(poll_id, salt=VOTED_SALT)


def voted_proof_valid(*, proof: str, poll_id: int) -> bool:
    try:
        return signing.loads(proof, salt=VOTED_SALT, max_age=VOTED_MAX_AGE) == poll_id
    except signing.BadSignature:
        return False
