"""The respondent's flow: answer one page of a survey (save, recompute what show-if hides,
submit on the last page), or a whole response at once (the API), with the same rules.

The faces (views, API) validate what was sent (a page's form, or JSON through
`survey.kinds`) and call one function here; it returns an outcome the face maps to a
redirect, a rendered page or a JSON reply. The respondent's stored answers are read once
per request, by the face, and passed in as `prior`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .kinds import (
    OTHER_MAX,
    OTHER_PART,
    AnswerError,
    Problem,
    Values,
    behaviour,
    is_visible,
    other_chosen,
    problems,
)
from .models import Invitation, Page, Question, Response, Survey
from .services import (
    IncompleteResponseError,
    RateLimitedError,
    Structure,
    SurveyClosedError,
    TooFastError,
    response_save_page,
    response_start,
    response_submit,
)

Action = Literal["next", "back"]


@dataclass(frozen=True)
class Visitor:
    """Who is answering, for a response this request may have to start."""

    respondent_hash: str
    channel: str = "direct"
    ip_hash: str = ""
    started_at: datetime | None = None
    invitation: Invitation | None = None


@dataclass(frozen=True)
class GoTo:
    """Show another page (None: the page the respondent is on), with a notice."""

    page: int | None = None
    notice: str = ""


@dataclass(frozen=True)
class Submitted:
    """The response is complete: thank the respondent."""


@dataclass(frozen=True)
class Retry:
    """The page was saved but the response could not be submitted yet: show the page
    again with its saved answers and the notice."""

    page: Page
    pages: list[Page]
    values: Values
    notice: str
    status: int = 200


@dataclass(frozen=True)
class Closed:
    """The survey stopped accepting answers."""


@dataclass(frozen=True)
class Outcome:
    step: GoTo | Submitted | Retry | Closed
    response: Response | None = None  # the response, when this request started it


def pages_visible(pages: list[Page], structure: Structure, values: Values) -> list[Page]:
    """Pages with at least one question show-if lets through, in order."""
    shown = []
    for page in pages:
        questions = [q for q in structure.questions if q.page_id == page.pk]
        if not questions or any(is_visible(q, values, structure.by_id) for q in questions):
            shown.append(page)
    return shown


def values_after(
    *, structure: Structure, prior: Values, questions: list[Question], page_values: Values
) -> Values:
    """A response's answers once a page's are saved: the page's replace what was stored,
    and whatever show-if now hides is gone."""
    on_page = {q.key for q in questions} | {f"{q.key}__other" for q in questions}
    merged = {k: v for k, v in prior.items() if k not in on_page}
    merged.update({k: v for k, v in page_values.items() if k in on_page})
    hidden = {q.key for q in structure.questions if not is_visible(q, merged, structure.by_id)}
    return {k: v for k, v in merged.items() if k.removesuffix("__other") not in hidden}


def page_answer(
    *,
    survey: Survey,
    structure: Structure,
    pages: list[Page],
    page: Page,
    response: Response | None,
    prior: Values,
    page_values: Values,
    action: Action,
    visitor: Visitor,
) -> Outcome:
    """Save one validated page of answers and say where the respondent goes next.

    A respondent without a response gets one when they go forward (going back first saves
    nothing). Show-if is recomputed on the new answers: hidden answers are dropped and the
    pages that follow may change. Going forward from the last page submits the response.
    """
    started = None
    if response is None:
        if action == "back":
            return Outcome(GoTo())
        try:
            response = started = response_start(
                survey=survey,
                respondent_hash=visitor.respondent_hash,
                channel=visitor.channel,
                ip_hash=visitor.ip_hash,
                started_at=visitor.started_at,
                invitation=visitor.invitation,
            )
        except SurveyClosedError:
            return Outcome(Closed())
    questions = [q for q in structure.questions if q.page_id == page.pk]
    after = values_after(
        structure=structure, prior=prior, questions=questions, page_values=page_values
    )
    pages_now = pages_visible(pages, structure, after)
    index = next((i for i, p in enumerate(pages_now) if p.pk == page.pk), None)
    if index is None:  # this page's own answers hid it: carry on from where it was
        index = max(sum(1 for p in pages_now if p.position < page.position) - 1, 0)
    is_last = index >= len(pages_now) - 1
    if action == "back":
        target = pages_now[max(index - 1, 0)]
    else:
        target = pages_now[min(index + 1, len(pages_now) - 1)]
    try:
        response = response_save_page(
            response=response,
            page_position=page.position,
            values=page_values,
            next_page=page.position if action == "back" else target.position,
            structure=structure,
            after=after,
        )
    except SurveyClosedError:
        return Outcome(Closed(), started)
    if action == "back" or not is_last:
        return Outcome(GoTo(target.position), started)
    try:
        response_submit(response=response, structure=structure, values=after)
    except IncompleteResponseError as error:
        return Outcome(GoTo(error.question.page.position, notice=str(error)), started)
    except (TooFastError, RateLimitedError) as error:
        status = 429 if isinstance(error, RateLimitedError) else 200
        return Outcome(Retry(page, pages_now, after, str(error), status), started)
    except SurveyClosedError:
        return Outcome(Closed(), started)
    return Outcome(Submitted(), started)


@dataclass
class Checked:
    """A whole response's JSON answers, parsed and checked: values to store, or problems
    per answer key (question key, or "<key>__<row>" / "<key>__other")."""

    values: Values = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, question: Question, found: list[Problem]) -> None:
        for problem in found:
            key = f"{question.key}__{problem.part}" if problem.part else question.key
            self.errors.setdefault(key, []).append(problem.message)


def answers_check(*, structure: Structure, answers: dict[str, Any]) -> Checked:
    """Parse JSON answers through each kind and check them as the browser's pages would:
    in page order, visible questions only, every rule of `survey.kinds.problems`."""
    checked = Checked()
    parsed: Values = {}
    refused: set[str] = set()
    for question in structure.questions:
        if question.key not in answers:
            continue
        try:
            value = behaviour(question.kind).from_json(question, answers[question.key])
        except AnswerError as error:
            checked.add(question, error.problems)
            refused.add(question.key)
            continue
        if value is None:
            continue
        parsed[question.key] = value
        other = answers.get(f"{question.key}__other")
        if other is not None:
            if not isinstance(other, str):
                checked.add(question, [Problem('"Other, please specify" takes a text.')])
                refused.add(question.key)
            elif len(other.strip()) > OTHER_MAX:
                message = f"Ensure this value has at most {OTHER_MAX} characters."
                checked.add(question, [Problem(message, OTHER_PART)])
                refused.add(question.key)
            elif other.strip():
                parsed[f"{question.key}__other"] = other.strip()
    for question in structure.questions:
        if not is_visible(question, parsed, structure.by_id):
            continue
        if question.key in refused:
            continue
        checked.add(question, problems(question, parsed, structure.by_id))
        if question.key in parsed:
            checked.values[question.key] = parsed[question.key]
            other_key = f"{question.key}__other"
            if other_key in parsed and other_chosen(question, parsed[question.key]):
                checked.values[other_key] = parsed[other_key]
    return checked
