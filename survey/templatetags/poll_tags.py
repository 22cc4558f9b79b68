"""The voting form of a poll, for pages that list polls (the home page)."""

from __future__ import annotations

from typing import Any

from django import template

from ..models import Survey
from ..polls import poll_form_context
from ..selectors import poll_question

register = template.Library()


@register.inclusion_tag("survey/_poll_card.html", takes_context=True)
def poll_card(context: dict[str, Any], poll: Survey) -> dict[str, Any]:
    question = poll_question(poll)
    if question is None:
        return {"poll": poll, "question": None}
    return {
        **poll_form_context(context["request"], poll, question),
        "csrf_token": context.get("csrf_token"),
    }
