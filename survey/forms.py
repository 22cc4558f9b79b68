"""One page of a survey as a form: the only place a question kind becomes a form field."""

from __future__ import annotations

from typing import Any

from django import forms

from .models import Question
from .selectors import Values, question_is_visible

HONEYPOT_FIELD = "website"
# Django's default echoes the submitted value; a respondent needs to know it isn't offered.
CHOICE_ERRORS = {"invalid_choice": "That answer is not one of the choices offered here."}


def field_name(question: Question, row_key: str | None = None) -> str:
    return f"q_{question.key}__{row_key}" if row_key else f"q_{question.key}"


def other_field_name(question: Question) -> str:
    return f"q_{question.key}__other"


class PageForm(forms.Form):
    """Fields for the questions of one page; required-ness depends on show-if, so it is
    checked in clean() rather than by the fields."""

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
            self._add_fields(question)

    def _add_fields(self, question: Question) -> None:
        options = [c for c in question.choices.all() if c.role == "option"]
        pairs = [(c.key, c.label) for c in options]
        kind = question.kind
        label = question.text
        if kind in (Question.Kind.SINGLE, Question.Kind.SCALE):
            self.fields[field_name(question)] = forms.ChoiceField(
                choices=pairs,
                required=False,
                label=label,
                widget=forms.RadioSelect,
                error_messages=CHOICE_ERRORS,
            )
        elif kind == Question.Kind.MULTI:
            self.fields[field_name(question)] = forms.MultipleChoiceField(
                choices=pairs,
                required=False,
                label=label,
                widget=forms.CheckboxSelectMultiple,
                error_messages={**CHOICE_ERRORS, "invalid_list": "Choose from the list."},
            )
        elif kind == Question.Kind.MATRIX:
            columns = [(c.key, c.label) for c in question.choices.all() if c.role == "column"]
            for row in (c for c in question.choices.all() if c.role == "row"):
                self.fields[field_name(question, row.key)] = forms.ChoiceField(
                    choices=columns,
                    required=False,
                    label=row.label,
                    widget=forms.RadioSelect,
                    error_messages=CHOICE_ERRORS,
                )
        elif kind == Question.Kind.NUMBER:
            self.fields[field_name(question)] = forms.DecimalField(
                required=False,
                label=label,
                min_value=question.min_value,
                max_value=question.max_value,
                max_digits=14,
                decimal_places=4,
            )
        else:
            self.fields[field_name(question)] = forms.CharField(
                required=False,
                label=label,
                max_length=question.max_length,
                widget=forms.Textarea(attrs={"rows": 4}),
            )
        if question.has_other:
            self.fields[other_field_name(question)] = forms.CharField(
                required=False, label="Other, please specify", max_length=200
            )

    def _value(self, question: Question, cleaned: dict[str, Any]) -> Any:
        if question.kind == Question.Kind.MATRIX:
            rows = {}
            for choice in question.choices.all():
                if choice.role == "row":
                    column = cleaned.get(field_name(question, choice.key))
                    if column:
                        rows[choice.key] = column
            return rows or None
        value = cleaned.get(field_name(question))
        if value in ("", [], None):
            return None
        if isinstance(value, str):
            value = value.strip() or None
        return value

    def values(self) -> Values:
        """Answers of the visible questions on this page, from whatever validated."""
        cleaned = getattr(self, "cleaned_data", {})
        merged: Values = dict(self.prior)
        result: Values = {}
        for question in self.questions:
            value = self._value(question, cleaned)
            if value is not None:
                merged[question.key] = value
            else:
                merged.pop(question.key, None)
        for question in self.questions:
            if not question_is_visible(question, merged, self.by_id):
                continue
            value = merged.get(question.key)
            if value is None:
                continue
            result[question.key] = value
            other = (cleaned.get(other_field_name(question)) or "").strip()
            if other and self._other_selected(question, value):
                result[f"{question.key}__other"] = other
        return result

    @staticmethod
    def _other_selected(question: Question, value: Any) -> bool:
        other_keys = {c.key for c in question.choices.all() if c.is_other}
        chosen = set(value) if isinstance(value, list) else {value}
        return bool(other_keys & chosen)

    def clean(self) -> dict[str, Any]:
        # Errors so far come from the fields themselves: values that are not what the
        # question offers (a tampered or broken post), as opposed to answers still missing.
        self.malformed = bool(self._errors)
        cleaned = super().clean()
        values = self.values()
        merged = {**self.prior, **values}
        for question in self.questions:
            if not question_is_visible(question, merged, self.by_id):
                continue
            value = values.get(question.key)
            name = field_name(question)
            if question.kind == Question.Kind.MATRIX:
                rows = [c for c in question.choices.all() if c.role == "row"]
                if question.required:
                    for row in rows:
                        if not (value or {}).get(row.key):
                            self.add_error(
                                field_name(question, row.key),
                                f"Choose an answer for {row.label}.",
                            )
                continue
            if name in self.errors:
                continue  # one message per field: what was wrong with the value given
            if question.required and value is None:
                self.add_error(name, "This question needs an answer.")
                continue
            if (
                question.kind == Question.Kind.MULTI
                and question.max_selections
                and value
                and len(value) > question.max_selections
            ):
                self.add_error(name, f"Choose at most {question.max_selections}.")
            if value is not None and question.has_other and self._other_selected(question, value):
                if not (cleaned.get(other_field_name(question)) or "").strip():
                    self.add_error(
                        other_field_name(question), 'Please say what "Other" is, or untick it.'
                    )
        return cleaned

    def clean_website(self) -> str:
        return self.cleaned_data.get(HONEYPOT_FIELD, "")

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get(HONEYPOT_FIELD))

    def rows_for(self, question: Question) -> list[forms.BoundField]:
        return [
            self[field_name(question, c.key)] for c in question.choices.all() if c.role == "row"
        ]
