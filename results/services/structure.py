"""Which questions and choices a snapshot publishes, and how they are grouped."""

from __future__ import annotations

from survey.models import Question, Survey


def normalized_text(text: str) -> str:
    return " ".join(text.casefold().split())


def published_questions(survey: Survey) -> list[Question]:
    return [q for q in survey.questions.all() if q.is_closed and not q.is_sensitive]


def dimension_questions(questions: list[Question]) -> list[Question]:
    return [q for q in questions if q.is_dimension and q.can_segment]
