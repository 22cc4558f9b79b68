"""Writes to responses: every path in (browser, API, importers) goes through these."""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from . import identity, limits
from .kinds import AnswerValues, Values, behaviour, is_visible
from .models import Answer, Choice, Invitation, Page, Question, Response, Series, Survey
from .selectors import response_values

logger = logging.getLogger(__name__)


class SurveyError(Exception):
    """A refusal the respondent should read."""


class SurveyClosedError(SurveyError):
    pass


class IncompleteResponseError(SurveyError):
    def __init__(self, question: Question) -> None:
        super().__init__(f"The question {question.text!r} needs an answer.")
        self.question = question


class TooFastError(SurveyError):
    pass


class RateLimitedError(SurveyError):
    pass


@dataclass(frozen=True)
class Structure:
    """A survey's questions and choices, looked up once per request."""

    questions: list[Question]
    by_id: dict[int, Question]
    by_key: dict[str, Question]
    choices: dict[tuple[int, str, str], Choice]
    # In order; every page, with or without questions (empty unless loaded with them).
    pages: tuple[Page, ...] = ()

    @classmethod
    def of(
        cls,
        survey: Survey,
        *,
        questions: list[Question] | None = None,
        pages: list[Page] | None = None,
    ) -> Structure:
        """Pass questions already loaded (with page and choices) to skip the query."""
        if questions is None:
            questions = list(
                survey.questions.select_related("page")
                .prefetch_related("choices")
                .order_by("page__position", "position", "id")
            )
        choices = {(q.pk, c.role, c.key): c for q in questions for c in q.choices.all()}
        return cls(
            questions=questions,
            by_id={q.pk: q for q in questions},
            by_key={q.key: q for q in questions},
            choices=choices,
            pages=tuple(pages or ()),
        )


# survey id -> ((created_at, structure_version), Structure): per process; see structure_current.
_structures: dict[int, tuple[tuple[datetime, int], Structure]] = {}


def structure_current(survey: Survey) -> Structure:
    """The survey's structure, from this process's cache while the survey's structure_version
    is the one it was loaded at (triggers move it on any write to the survey's pages,
    questions or choices); `survey` must have been read in this request.

    Loaded after the version was read, a cached structure is never older than its key says,
    so an edit is seen by the first request that reads the survey after its commit. The
    cached instances are shared between requests: read them, never change them.
    """
    key = (survey.created_at, survey.structure_version)  # created_at: a reused id is another
    cached = _structures.get(survey.pk)
    if cached is not None and cached[0] == key:
        return cached[1]
    questions = list(
        Question.objects.filter(survey_id=survey.pk)  # not survey.questions: no link to `survey`
        .select_related("page", "show_if_question")
        .prefetch_related("choices")
        .order_by("page__position", "position", "id")
    )
    pages = list(Page.objects.filter(survey_id=survey.pk).order_by("position"))
    structure = Structure.of(survey, questions=questions, pages=pages)
    _structures[survey.pk] = (key, structure)
    return structure


def first_missing_required(structure: Structure, values: Values) -> Question | None:
    """The first visible required question without an answer, if any."""
    for question in structure.questions:
        if not question.required or not is_visible(question, values, structure.by_id):
            continue
        if behaviour(question.kind).required_problems(question, values.get(question.key)):
            return question
    return None


def answers_build(
    *, response: Response, question: Question, value: Any, other: str, structure: Structure
) -> list[Answer]:
    """Answer rows for one question's value; unknown keys are dropped, never stored."""
    rows = behaviour(question.kind).answer_rows(
        question, value, other, lambda role, key: structure.choices.get((question.pk, role, key))
    )
    for row in rows:
        row.response = response
    return rows


def _replace_answers(
    *, response: Response, questions: list[Question], values: Values, structure: Structure
) -> None:
    Answer.objects.filter(response=response, question__in=questions).delete()
    new: list[Answer] = []
    for question in questions:
        if question.key in values and values[question.key] is not None:
            other = str(values.get(f"{question.key}__other", "")).strip()
            new += answers_build(
                response=response,
                question=question,
                value=values[question.key],
                other=other,
                structure=structure,
            )
    Answer.objects.bulk_create(new)


def _drop_hidden(*, response: Response, values: Values, structure: Structure) -> None:
    """A question that show-if now hides is never stored."""
    hidden = [q for q in structure.questions if not is_visible(q, values, structure.by_id)]
    if hidden:
        Answer.objects.filter(response=response, question__in=hidden).delete()


def _accepting(survey: Survey) -> None:
    survey.refresh_from_db(fields=["status", "opens_at", "closes_at"])
    if not survey.is_open:
        raise SurveyClosedError("This survey is not accepting answers.")


def response_start(
    *,
    survey: Survey,
    respondent_hash: str,
    channel: str = "direct",
    ip_hash: str = "",
    started_at: datetime | None = None,
    invitation: Invitation | None = None,
) -> Response:
    """The respondent's response to this survey, created as a draft when there is none."""
    _accepting(survey)
    existing = Response.objects.filter(survey=survey, respondent_hash=respondent_hash).first()
    if existing:
        return existing
    now = timezone.now()
    if started_at is None or started_at > now or started_at < now - timedelta(days=1):
        started_at = now
    try:
        with transaction.atomic():
            response = Response.objects.create(
                survey=survey,
                respondent_hash=respondent_hash,
                channel=channel or "direct",
                ip_hash=ip_hash,
                started_at=started_at,
                invitation=invitation,
            )
            if invitation is not None:
                Invitation.objects.filter(pk=invitation.pk).update(used_at=now)
    except IntegrityError:
        # Two tabs raced to create it: the other one won, use that.
        return Response.objects.get(survey=survey, respondent_hash=respondent_hash)
    return response


def response_save_page(
    *,
    response: Response,
    page_position: int,
    values: Values,
    next_page: int,
    structure: Structure | None = None,
    after: Values | None = None,
) -> Response:
    """Replace the answers to one page's questions, drop the answers show-if now hides and
    move the bookmark to next_page.

    `after` is every answer of the response once this page is saved, when the caller
    already has them (the respondent flow); otherwise they are read back.
    """
    structure = structure or Structure.of(response.survey)
    _accepting(response.survey)
    questions = [q for q in structure.questions if q.page.position == page_position]
    with transaction.atomic():
        locked = Response.objects.select_for_update().get(pk=response.pk)
        locked.survey = response.survey  # loaded and checked just now
        _replace_answers(response=locked, questions=questions, values=values, structure=structure)
        if after is None:
            after = response_values(locked, questions=structure.questions)
        _drop_hidden(response=locked, values=after, structure=structure)
        if locked.status == Response.Status.DRAFT:
            locked.current_page = max(locked.current_page, next_page)
        locked.save(update_fields=["current_page", "updated_at"])
    return locked


def submission_allowed(ip_hash: str, *, poll: bool = False) -> bool:
    """A per-IP-hash budget of completed submissions per hour (shared by all workers).
    Quick-poll votes have a budget of their own: a network that voted in polls can still
    send its Census responses, and the other way round."""
    if not ip_hash:
        return True
    return limits.hit(
        "votes" if poll else "submits",
        ip_hash,
        limit=settings.TALLY_SUBMIT_RATE_PER_HOUR,
        window=3600,
    ).allowed


def response_submit(
    *,
    response: Response,
    structure: Structure | None = None,
    min_time: bool = True,
    values: Values | None = None,
) -> Response:
    """Mark a draft complete once every visible required question has an answer.

    min_time=False skips the minimum-time check, for programs posting a whole response at
    once. `values` are the response's stored answers when the caller just wrote them
    (otherwise they are read).
    """
    structure = structure or Structure.of(response.survey)
    _accepting(response.survey)
    with transaction.atomic():
        locked = Response.objects.select_for_update().get(pk=response.pk)
        locked.survey = response.survey  # loaded and checked just now
        if values is None:
            values = response_values(locked, questions=structure.questions)
        missing = first_missing_required(structure, values)
        if missing is not None:
            raise IncompleteResponseError(missing)
        now = timezone.now()
        if locked.status == Response.Status.COMPLETE:
            return locked
        elapsed = (now - locked.started_at).total_seconds()
        if min_time and elapsed < response.survey.min_seconds:
            raise TooFastError(
                "That was quicker than we expect anyone to read the questions. "
                "Please check your answers, then submit again."
            )
        if not submission_allowed(locked.ip_hash, poll=response.survey.is_poll):
            raise RateLimitedError(
                "Too many surveys were submitted from your network in the last hour. "
                "Your answers are saved: please come back later to submit."
            )
        locked.status = Response.Status.COMPLETE
        locked.submitted_at = now
        locked.duration_seconds = int(elapsed)
        locked.save(update_fields=["status", "submitted_at", "duration_seconds", "updated_at"])
    return locked


def _response_complete(
    *,
    survey: Survey,
    respondent_hash: str,
    channel: str,
    source_row: str = "",
    submitted_at: datetime | None = None,
) -> Response:
    return Response(
        survey=survey,
        respondent_hash=respondent_hash,
        channel=channel,
        status=Response.Status.COMPLETE,
        submitted_at=submitted_at or timezone.now(),
        source_row=source_row,
    )


def answers_values(*, values: Values, structure: Structure) -> list[AnswerValues]:
    """What the answer rows of a whole response hold: the same answer rules as the browser,
    unknown keys dropped, hidden questions not stored."""
    rows: list[AnswerValues] = []
    for question in structure.questions:
        value = values.get(question.key)
        if value is None or not is_visible(question, values, structure.by_id):
            continue
        other = str(values.get(f"{question.key}__other", "")).strip()
        rows += behaviour(question.kind).answer_values(
            question, value, other, partial(_choice_of, structure, question.pk)
        )
    return rows


def _choice_of(structure: Structure, question_id: int, role: str, key: str) -> Choice | None:
    return structure.choices.get((question_id, role, key))


def response_import(
    *,
    survey: Survey,
    respondent_hash: str,
    values: Values,
    channel: str,
    source_row: str = "",
    submitted_at: datetime | None = None,
    structure: Structure,
) -> tuple[Response, list[Answer]]:
    """A complete response built in memory from imported values (saved by the caller in bulk).

    Uses the same answer rules as the browser: unknown keys are dropped, hidden questions
    are not stored.
    """
    response = _response_complete(
        survey=survey,
        respondent_hash=respondent_hash,
        channel=channel,
        source_row=source_row,
        submitted_at=submitted_at,
    )
    answers = [row.answer() for row in answers_values(values=values, structure=structure)]
    for answer in answers:
        answer.response = response
    return response, answers


def response_submit_whole(
    *,
    survey: Survey,
    respondent_hash: str,
    values: Values,
    channel: str,
    ip_hash: str,
    structure: Structure,
    channel_requested: str = "",
    body: dict[str, Any] | None = None,
) -> Response:
    """A complete response from one validated set of values, written in one pass (the API).

    The same rules as page by page: required visible questions answered, hidden ones not
    stored, unknown keys dropped, the per-IP-hash submission budget. `survey` was read in
    this request, so whether it is open is not read again. `channel_requested` is the name
    a held response asked for (survey.channels). With `body` (the answers as posted), a
    response whose body another submission sent within the duplicate window is flagged,
    and so is that first one (`limits.identical_body`). One transaction: the response, its
    answers in one INSERT, and the first twin's flag when it is the first time.
    """
    if not survey.is_open:
        raise SurveyClosedError("This survey is not accepting answers.")
    missing = first_missing_required(structure, values)
    if missing is not None:
        raise IncompleteResponseError(missing)
    if not submission_allowed(ip_hash):
        raise RateLimitedError(
            "Too many surveys were submitted from your network in the last hour. "
            "Please try again later."
        )
    response = _response_complete(survey=survey, respondent_hash=respondent_hash, channel=channel)
    rows = answers_values(values=values, structure=structure)
    response.ip_hash = ip_hash
    response.channel_requested = channel_requested
    response.current_page = max((q.page.position for q in structure.questions), default=1)
    twin = None if body is None else limits.identical_body(survey.pk, body, respondent_hash)
    if twin is not None:
        response.quality_flags = [limits.IDENTICAL_BODY]
    if connection.vendor == "postgresql" and not (twin and twin.flag_first):
        _response_insert(response, rows)
    else:
        with transaction.atomic():
            response.save(force_insert=True)
            answers = [row.answer() for row in rows]
            for answer in answers:
                answer.response = response
            Answer.objects.bulk_create(answers)
            if twin is not None and twin.flag_first:
                limits.flag_first_twin(survey=survey, respondent_hash=twin.first_hash)
    if twin is not None:
        logger.info("Response %s has the same answers as an earlier API submission", response.pk)
    return response


# The answer rows as one JSON parameter: quoting it is one json.dumps, where arrays of
# values cost psycopg a step per value.
ANSWER_RECORD = (
    "question_id bigint, choice_id bigint, column_id bigint, value_number numeric, value_text text"
)


def _response_insert(response: Response, rows: list[AnswerValues]) -> None:
    """Insert a response and its answers in one statement (PostgreSQL): atomic by itself, one
    round trip instead of four (BEGIN, two INSERTs, COMMIT), and none of the ORM's cost of
    building the queries and the model rows, which was most of a submission's time. The
    response's values are the ones the ORM writes (each field's `pre_save` and
    `get_db_prep_save`); the answers' are those of `AnswerValues.answer()`."""
    fields = [f for f in Response._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(response, add=True), connection) for f in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    sql = (
        f"WITH response AS (INSERT INTO {quote(Response._meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING id), "
        f"answers AS (INSERT INTO {quote(Answer._meta.db_table)} "
        "(response_id, question_id, choice_id, column_id, value_number, value_text) "
        "SELECT response.id, a.* FROM response, "
        f"jsonb_to_recordset(%s::jsonb) AS a({ANSWER_RECORD})) "
        "SELECT id FROM response"
    )
    answers = json.dumps(
        [
            {
                "question_id": row.question.pk,
                "choice_id": row.choice.pk if row.choice else None,
                "column_id": row.column.pk if row.column else None,
                "value_number": row.value_number,
                "value_text": row.value_text,
            }
            for row in rows
        ],
        default=str,  # Decimal, exactly, as a JSON string numeric reads back
    )
    # Inside a caller's transaction (tests, a batch), a savepoint keeps a refusal of the
    # statement (an Idempotency-Key retry's IntegrityError) from aborting it.
    inner = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with inner, connection.cursor() as cursor:
        cursor.execute(sql, [*values, answers])
        response.pk = cursor.fetchone()[0]
    response._state.adding = False
    response._state.db = connection.alias


def survey_create(
    *,
    spec: dict[str, Any],
    series_overrides: dict[str, Any] | None = None,
    survey_overrides: dict[str, Any] | None = None,
) -> Survey:
    """Create (or replace the structure of) a survey from a spec such as CENSUS_SPEC.

    Refuses to replace the structure of a survey that already has responses.
    """
    series_fields = {**spec["series"], **(series_overrides or {})}
    survey_fields = {**spec["survey"], **(survey_overrides or {})}
    with transaction.atomic():
        series, _ = Series.objects.get_or_create(
            slug=series_fields.pop("slug"), defaults=series_fields
        )
        if not series.report_spec and series_fields.get("report_spec"):
            # A series first made by an importer gets the report spec of the survey it joins.
            series.report_spec = series_fields["report_spec"]
            series.save(update_fields=["report_spec"])
        slug = survey_fields.pop("slug")
        survey, created = Survey.objects.get_or_create(
            slug=slug, defaults={**survey_fields, "series": series}
        )
        if not created:
            if survey.responses.exists():
                raise SurveyError(f"Survey {slug!r} has responses; its structure stays as it is.")
            survey.pages.all().delete()
        by_key: dict[str, Question] = {}
        for page_number, page_spec in enumerate(spec["pages"], start=1):
            page = Page.objects.create(
                survey=survey,
                position=page_number,
                title=page_spec["title"],
                intro=page_spec.get("intro", ""),
            )
            for position, q in enumerate(page_spec["questions"], start=1):
                show_if = q.get("show_if")
                question = Question.objects.create(
                    survey=survey,
                    page=page,
                    position=position,
                    key=q["key"],
                    kind=q["kind"],
                    text=q["text"],
                    help_text=q.get("help_text", ""),
                    required=q.get("required", False),
                    is_dimension=q.get("is_dimension", False),
                    has_other=q.get("has_other", False),
                    is_sensitive=q.get("is_sensitive", False),
                    max_length=q.get("max_length", 2000),
                    universe=q.get("universe", ""),
                    min_value=q.get("min_value"),
                    max_value=q.get("max_value"),
                    max_selections=q.get("max_selections"),
                    show_if_question=by_key[show_if[0]] if show_if else None,
                    show_if_choice_keys=list(show_if[1]) if show_if else [],
                    differs_from=by_key[q["differs_from"]] if q.get("differs_from") else None,
                )
                by_key[question.key] = question
                _choices_create(question=question, q=q)
        for q in (q for page_spec in spec["pages"] for q in page_spec["questions"]):
            if q.get("grouped_into"):  # country -> region: region adds up from country
                by_key[q["key"]].grouped_into = by_key[q["grouped_into"]]
                by_key[q["key"]].save(update_fields=["grouped_into"])
    return survey


def _choices_create(*, question: Question, q: dict[str, Any]) -> None:
    rows: list[Choice] = []
    for role, pairs in (
        (Choice.Role.OPTION, q.get("choices", [])),
        (Choice.Role.ROW, q.get("rows", [])),
        (Choice.Role.COLUMN, q.get("columns", [])),
    ):
        for position, pair in enumerate(pairs, start=1):
            # A pair (key, label), or a dict with more fields (`is_other`, `needs_review`,
            # `group_key`), as importers pass them.
            fields = pair if isinstance(pair, dict) else {"key": pair[0], "label": pair[1]}
            exclusive = fields["key"] in q.get("exclusive", ())
            rows.append(
                Choice(
                    question=question,
                    role=role,
                    position=position,
                    **{"is_exclusive": exclusive, **fields},
                )
            )
    if q.get("has_other") and not any(c.is_other for c in rows):  # importers give their own
        rows.append(
            Choice(
                question=question,
                role=Choice.Role.OPTION,
                key="other",
                label="Other",
                position=len(q.get("choices", [])) + 1,
                is_other=True,
            )
        )
    Choice.objects.bulk_create(rows)


def survey_copy_as_wave(*, survey: Survey, slug: str, wave_label: str, title: str) -> Survey:
    """A draft copy of a survey as the next wave of its series, keys kept.

    The new survey row is created here (a taken address or wave label raises IntegrityError);
    its pages, questions and choices are written by `survey_create`, from the survey's spec.
    """
    with transaction.atomic():
        Survey.objects.create(
            series=survey.series,
            slug=slug,
            title=title,
            wave_label=wave_label,
            intro=survey.intro,
            thank_you=survey.thank_you,
            access=survey.access,
            min_seconds=survey.min_seconds,
            source=survey.source,
            license=survey.license,
            attribution=survey.attribution,
            is_synthetic=survey.is_synthetic,
            status=Survey.Status.DRAFT,
        )
        return survey_create(
            spec={
                "series": {"slug": survey.series.slug},
                "survey": {"slug": slug},
                "pages": survey_pages_spec(survey),
            }
        )


QUESTION_FIELDS = ("key", "kind", "text", "help_text", "required", "is_dimension", "has_other",
                   "is_sensitive", "max_length", "universe", "min_value", "max_value",
                   "max_selections")  # fmt: skip
CHOICE_FIELDS = ("key", "label", "is_other", "is_exclusive", "group_key")


def survey_pages_spec(survey: Survey) -> list[dict[str, Any]]:
    """A survey's pages, questions and choices as the `pages` of a `survey_create` spec."""
    questions = list(
        survey.questions.select_related("show_if_question", "differs_from", "grouped_into")
        .prefetch_related("choices")
        .order_by("page__position", "position", "id")
    )

    def choices(found: list[Choice]) -> list[dict[str, Any]]:
        return [{name: getattr(c, name) for name in CHOICE_FIELDS} for c in found]

    def spec(question: Question) -> dict[str, Any]:
        parent = question.show_if_question
        return {
            **{name: getattr(question, name) for name in QUESTION_FIELDS},
            "show_if": (parent.key, question.show_if_choice_keys) if parent else None,
            "differs_from": question.differs_from.key if question.differs_from else None,
            "grouped_into": question.grouped_into.key if question.grouped_into else None,
            "choices": choices(question.options),
            "rows": choices(question.rows),
            "columns": choices(question.columns),
        }

    return [
        {
            "title": page.title,
            "intro": page.intro,
            "questions": [spec(q) for q in questions if q.page_id == page.pk],
        }
        for page in survey.pages.order_by("position")
    ]


def invitations_create(*, survey: Survey, count: int, label: str = "") -> list[str]:
    """Issue invitation tokens; only their hashes are stored, so the links are shown once."""
    tokens = [identity.token_new() for _ in range(count)]
    Invitation.objects.bulk_create(
        Invitation(survey=survey, label=label, token_hash=identity.invitation_hash(token))
        for token in tokens
    )
    return tokens
