"""One page of a survey as a form; the fields of each kind come from survey.kinds."""

from __future__ import annotations

from typing import Any

from django import forms

from .kinds import (
    OTHER_MAX,
    OTHER_PART,
    Values,
    behaviour,
    field_name,
    is_visible,
    other_field_name,
    problems,
)
from .models import Question

HONEYPOT_FIELD = "website"

__all__ = ["HONEYPOT_FIELD", "PageForm", "field_name", "other_field_name"]


class PageForm(forms.Form):
    """Fields for the questions of one page; required-ness depends on show-if, so it is
    checked in clean() (by survey.kinds.problems) rather than by the fields."""

    def __init__(
        self,
        *args: Any,
        questions: list[Question],
        all_questions: list[Question],
        prior: Values,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.malformed = False
        self.questions = questions
        self.by_id = {q.pk: q for q in all_questions}
        self.prior = prior
        self.fields[HONEYPOT_FIELD] = forms.CharField(
            required=False, label="Leave this field empty", max_length=200
        )
        for question in questions:
            self.fields.update(behaviour(question.kind).form_fields(question))
            if question.has_other:
                self.fields[other_field_name(question)] = forms.CharField(
                    required=False, label="Other, please specify", max_length=OTHER_MAX
                )

    @classmethod
    def initial_for(cls, questions: list[Question], values: Values) -> dict[str, Any]:
        """The fields' initial data for stored values."""
        initial: dict[str, Any] = {}
        for question in questions:
            if question.key not in values:
                continue
            initial.update(behaviour(question.kind).form_initial(question, values[question.key]))
            if f"{question.key}__other" in values:
                initial[other_field_name(question)] = values[f"{question.key}__other"]
        return initial

    def merged(self) -> Values:
        """The respondent's answers with this page's (whatever validated) in place of the
        stored ones; hidden questions are still in."""
        cleaned = getattr(self, "cleaned_data", {})
        merged: Values = dict(self.prior)
        for question in self.questions:
            merged.pop(f"{question.key}__other", None)
            # Kept even when "Other" is not chosen, so that the check can say so.
            other = (cleaned.get(other_field_name(question)) or "").strip()
            if other and question.has_other:
                merged[f"{question.key}__other"] = other
            value = behaviour(question.kind).from_form(question, cleaned)
            if value is None:
                merged.pop(question.key, None)
                continue
            merged[question.key] = value
        return merged

    def values(self) -> Values:
        """Answers of the visible questions on this page, from whatever validated."""
        merged = self.merged()
        result: Values = {}
        for question in self.questions:
            if question.key in merged and is_visible(question, merged, self.by_id):
                result[question.key] = merged[question.key]
                if f"{question.key}__other" in merged:
                    result[f"{question.key}__other"] = merged[f"{question.key}__other"]
        return result

    def clean(self) -> dict[str, Any]:
        # Errors so far come from the fields themselves: values that are not what the
        # question offers (a tampered or broken post), as opposed to answers still missing.
        self.malformed = bool(self.errors)
        cleaned = super().clean() or {}
        merged = self.merged()
        for question in self.questions:
            if not is_visible(question, merged, self.by_id):
                continue
            if any(name in self.errors for name in self._names(question)):
                continue  # one message per question: what was wrong with the value given
            for problem in problems(question, merged, self.by_id):
                if problem.part == OTHER_PART:
                    self.add_error(other_field_name(question), problem.message)
                else:
                    self.add_error(field_name(question, problem.part), problem.message)
        return cleaned

    def _names(self, question: Question) -> list[str]:
        prefix = field_name(question)
        return [n for n in self.fields if n == prefix or n.startswith(prefix + "__")]

    def clean_website(self) -> str:
        return self.cleaned_data.get(HONEYPOT_FIELD, "")

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get(HONEYPOT_FIELD))

    def rows_for(self, question: Question) -> list[forms.BoundField]:
        return [self[field_name(question, row.key)] for row in question.rows]
