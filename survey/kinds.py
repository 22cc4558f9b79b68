"""What each question kind means, in one place.

A question's *value* has one shape per kind, the same from the browser form, the API's JSON,
an importer and the stored answer rows:

=========  ==========================  ======================================
kind       value                       answer rows
=========  ==========================  ======================================
single     option key (str)            one row: the option
scale      option key (str)            one row: the option
multi      option keys (list of str)   one row per option chosen
matrix     {row key: column key}       one row per row answered: row + column
number     Decimal                     one row: value_number
text       str                         one row: value_text
=========  ==========================  ======================================

"Other, please specify" text travels beside the value as ``<key>__other`` and is stored on
the "other" option's row.

Each kind has one `KindBehaviour`: the form fields it asks with, its value from the form's
cleaned data, from JSON and from stored answer rows, the answer rows it stores, when it is
unanswered, the template partial that draws it, and whether reports may publish it as a
table of shares or break other questions down by it. The rules that cut across kinds
(required, "at most N", "None" alone, "other" said, an answer that must differ from an
earlier one) are in `problems()`. Adding a kind is described in docs/question-kinds.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, NamedTuple

from django import forms

from .models import Answer, Choice, Question

# A question's value (see the table above); "<key>__other" carries "other" text.
Values = dict[str, Any]

CHOICE_ERRORS = {"invalid_choice": "That answer is not one of the choices offered here."}
NOT_OFFERED = CHOICE_ERRORS["invalid_choice"]
OTHER_PART = "other"
OTHER_MAX = 200


def field_name(question: Question, part: str = "") -> str:
    """The form field's name for a question (or one matrix row of it)."""
    return f"q_{question.key}__{part}" if part else f"q_{question.key}"


def other_field_name(question: Question) -> str:
    return field_name(question, OTHER_PART)


@dataclass(frozen=True)
class Problem:
    """Something wrong with one question's answer: about the question itself (part ""),
    one matrix row (part = row key), or its "other" text (part = OTHER_PART)."""

    message: str
    part: str = ""


class AnswerError(ValueError):
    """A JSON answer its kind does not take: the wrong shape, or a value not offered."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)


def _refuse(message: str, part: str = "") -> AnswerError:
    return AnswerError(Problem(message, part))


ChoiceLookup = Callable[[str, str], Choice | None]  # (role, key) -> the question's choice


class AnswerValues(NamedTuple):
    """What one answer row holds, before it is an `Answer` (cheaper to make many of)."""

    question: Question
    choice: Choice | None = None
    column: Choice | None = None
    value_number: Decimal | None = None
    value_text: str = ""

    def answer(self) -> Answer:
        """The unsaved row, without its response."""
        return Answer(
            question=self.question,
            choice=self.choice,
            column=self.column,
            value_number=self.value_number,
            value_text=self.value_text,
        )


def _scalar(value: Any) -> bool:
    # JSON booleans are numbers to Python; an answer is never true or false.
    return isinstance(value, str | int | float) and not isinstance(value, bool)


class KindBehaviour:
    """What one question kind means; subclasses override what differs."""

    kind: ClassVar[str]
    template: ClassVar[str]
    is_table: ClassVar[bool] = False  # published as shares of the choices
    is_segment: ClassVar[bool] = False  # reports may break results down by it

    def form_fields(self, question: Question) -> dict[str, forms.Field]:
        raise NotImplementedError

    def from_form(self, question: Question, cleaned: dict[str, Any]) -> Any:
        """The value from a form's cleaned data, or None when unanswered."""
        value = cleaned.get(field_name(question))
        if isinstance(value, str):
            value = value.strip()
        return None if value in ("", [], None) else value

    def form_initial(self, question: Question, value: Any) -> dict[str, Any]:
        return {field_name(question): value}

    def from_json(self, question: Question, raw: Any) -> Any:
        """The value from a JSON answer (None when unanswered); raises AnswerError."""
        raise NotImplementedError

    def answer_values(
        self, question: Question, value: Any, other: str, choice: ChoiceLookup
    ) -> list[AnswerValues]:
        """The answer rows' values for a value; unknown keys are dropped."""
        raise NotImplementedError

    def answer_rows(
        self, question: Question, value: Any, other: str, choice: ChoiceLookup
    ) -> list[Answer]:
        """Answer rows (unsaved, without response) for a value; unknown keys are dropped."""
        return [row.answer() for row in self.answer_values(question, value, other, choice)]

    def fold(self, values: Values, question: Question, answer: Answer) -> None:
        """Add one stored answer row to the values it came from."""
        raise NotImplementedError

    def is_missing(self, question: Question, value: Any) -> bool:
        return value in (None, "", [], {})

    def required_problems(self, question: Question, value: Any) -> list[Problem]:
        """What a required question's value still lacks (nothing once it is answered)."""
        missing = self.is_missing(question, value)
        return [Problem("This question needs an answer.")] if missing else []

    def chosen_keys(self, value: Any) -> set[str]:
        """Option keys a value selects (for show-if, "other" and "None")."""
        return set()


class SingleChoice(KindBehaviour):
    kind = Question.Kind.SINGLE
    template = "survey/kinds/choice.html"
    is_table = True
    is_segment = True

    def form_fields(self, question: Question) -> dict[str, forms.Field]:
        return {
            field_name(question): forms.ChoiceField(
                choices=[(c.key, c.label) for c in question.options],
                required=False,
                label=question.text,
                widget=forms.RadioSelect,
                error_messages=CHOICE_ERRORS,
            )
        }

    def from_json(self, question: Question, raw: Any) -> Any:
        if not _scalar(raw):
            raise _refuse("This answer is a single choice key, number or text.")
        key = str(raw)
        if key not in {c.key for c in question.options}:
            raise _refuse(NOT_OFFERED)
        return key

    def answer_values(
        self, question: Question, value: Any, other: str, choice: ChoiceLookup
    ) -> list[AnswerValues]:
        option = choice(Choice.Role.OPTION, str(value))
        if option is None:
            return []
        text = other[:OTHER_MAX] if option.is_other else ""
        return [AnswerValues(question, option, value_text=text)]

    def fold(self, values: Values, question: Question, answer: Answer) -> None:
        if answer.choice is None:
            return
        values[question.key] = answer.choice.key
        if answer.choice.is_other and answer.value_text:
            values[f"{question.key}__other"] = answer.value_text

    def chosen_keys(self, value: Any) -> set[str]:
        return {value} if isinstance(value, str) else set()


class Scale(SingleChoice):
    kind = Question.Kind.SCALE


class MultipleChoice(SingleChoice):
    kind = Question.Kind.MULTI

    def form_fields(self, question: Question) -> dict[str, forms.Field]:
        return {
            field_name(question): forms.MultipleChoiceField(
                choices=[(c.key, c.label) for c in question.options],
                required=False,
                label=question.text,
                widget=forms.CheckboxSelectMultiple,
                error_messages={**CHOICE_ERRORS, "invalid_list": "Choose from the list."},
            )
        }

    def from_json(self, question: Question, raw: Any) -> Any:
        if not isinstance(raw, list) or not all(_scalar(v) for v in raw):
            raise _refuse("A multiple-choice answer is a list of choice keys.")
        keys = list(dict.fromkeys(str(v) for v in raw))
        offered = {c.key for c in question.options}
        if any(key not in offered for key in keys):
            raise _refuse(NOT_OFFERED)
        return keys or None

    def answer_values(
        self, question: Question, value: Any, other: str, choice: ChoiceLookup
    ) -> list[AnswerValues]:
        rows: list[AnswerValues] = []
        for key in dict.fromkeys(value):  # keeps order, drops repeats
            rows += super().answer_values(question, key, other, choice)
        return rows

    def fold(self, values: Values, question: Question, answer: Answer) -> None:
        if answer.choice is None:
            return
        values.setdefault(question.key, []).append(answer.choice.key)
        if answer.choice.is_other and answer.value_text:
            values[f"{question.key}__other"] = answer.value_text

    def chosen_keys(self, value: Any) -> set[str]:
        return set(value) if isinstance(value, list) else set()


class Matrix(KindBehaviour):
    kind = Question.Kind.MATRIX
    template = "survey/kinds/matrix.html"
    is_table = True

    def form_fields(self, question: Question) -> dict[str, forms.Field]:
        columns = [(c.key, c.label) for c in question.columns]
        return {
            field_name(question, row.key): forms.ChoiceField(
                choices=columns,
                required=False,
                label=row.label,
                widget=forms.RadioSelect,
                error_messages=CHOICE_ERRORS,
            )
            for row in question.rows
        }

    def from_form(self, question: Question, cleaned: dict[str, Any]) -> Any:
        chosen = {
            row.key: cleaned.get(field_name(question, row.key))
            for row in question.rows
            if cleaned.get(field_name(question, row.key))
        }
        return chosen or None

    def form_initial(self, question: Question, value: Any) -> dict[str, Any]:
        return {field_name(question, row): column for row, column in value.items()}

    def from_json(self, question: Question, raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise _refuse("A matrix answer is an object of row key to column key.")
        unknown = sorted(set(raw) - {c.key for c in question.rows})
        if unknown:
            raise _refuse(f"Unknown rows: {', '.join(unknown)[:200]}.")
        if not all(_scalar(column) for column in raw.values()):
            raise _refuse("Each matrix row takes one column key.")
        columns = {c.key for c in question.columns}
        bad = [
            Problem(NOT_OFFERED, str(row)) for row, col in raw.items() if str(col) not in columns
        ]
        if bad:
            raise AnswerError(*bad)
        return {str(row): str(column) for row, column in raw.items()} or None

    def answer_values(
        self, question: Question, value: Any, other: str, choice: ChoiceLookup
    ) -> list[AnswerValues]:
        rows: list[AnswerValues] = []
        for row_key, column_key in dict(value).items():
            row = choice(Choice.Role.ROW, str(row_key))
            column = choice(Choice.Role.COLUMN, str(column_key))
            if row and column:
                rows.append(AnswerValues(question, row, column))
        return rows

    def fold(self, values: Values, question: Question, answer: Answer) -> None:
        if answer.choice is not None and answer.column is not None:
            values.setdefault(question.key, {})[answer.choice.key] = answer.column.key

    def required_problems(self, question: Question, value: Any) -> list[Problem]:
        # Every row needs its column, each said beside its row.
        return [
            Problem(f"Choose an answer for {row.label}.", row.key)
            for row in question.rows
            if not (value or {}).get(row.key)
        ]


class Number(KindBehaviour):
    kind = Question.Kind.NUMBER
    template = "survey/kinds/field.html"
    MAX_DIGITS = 14
    DECIMAL_PLACES = 4

    def _field(self, question: Question) -> forms.DecimalField:
        return forms.DecimalField(
            required=False,
            label=question.text,
            min_value=question.min_value,
            max_value=question.max_value,
            max_digits=self.MAX_DIGITS,
            decimal_places=self.DECIMAL_PLACES,
        )

    def form_fields(self, question: Question) -> dict[str, forms.Field]:
        return {field_name(question): self._field(question)}

    def from_json(self, question: Question, raw: Any) -> Any:
        if not _scalar(raw):
            raise _refuse("This answer is a single choice key, number or text.")
        try:
            number = Decimal(str(raw))
        except InvalidOperation:
            raise _refuse("Enter a number.") from None
        if not number.is_finite():
            raise _refuse("Enter a number.")
        try:  # the browser's own rules: range, digits
            return self._field(question).clean(str(number))
        except forms.ValidationError as error:
            raise AnswerError(*(Problem(m) for m in error.messages)) from None

    def answer_values(
        self, question: Question, value: Any, other: str, choice: ChoiceLookup
    ) -> list[AnswerValues]:
        return [AnswerValues(question, value_number=Decimal(value))]

    def fold(self, values: Values, question: Question, answer: Answer) -> None:
        values[question.key] = answer.value_number


class Text(KindBehaviour):
    kind = Question.Kind.TEXT
    template = "survey/kinds/field.html"

    def form_fields(self, question: Question) -> dict[str, forms.Field]:
        return {
            field_name(question): forms.CharField(
                required=False,
                label=question.text,
                max_length=question.max_length,
                widget=forms.Textarea(attrs={"rows": 4}),
            )
        }

    def from_json(self, question: Question, raw: Any) -> Any:
        if not _scalar(raw):
            raise _refuse("This answer is a single choice key, number or text.")
        text = str(raw).strip()
        if "\x00" in text:
            raise _refuse("Null characters are not allowed.")
        if len(text) > question.max_length:
            raise _refuse(
                f"Ensure this value has at most {question.max_length} characters "
                f"(it has {len(text)})."
            )
        return text or None

    def answer_values(
        self, question: Question, value: Any, other: str, choice: ChoiceLookup
    ) -> list[AnswerValues]:
        text = str(value)[: question.max_length]
        return [AnswerValues(question, value_text=text)] if text else []

    def fold(self, values: Values, question: Question, answer: Answer) -> None:
        values[question.key] = answer.value_text


BEHAVIOURS: dict[str, KindBehaviour] = {
    b.kind: b for b in (SingleChoice(), Scale(), MultipleChoice(), Matrix(), Number(), Text())
}
assert set(BEHAVIOURS) == set(Question.Kind.values), "every kind needs a behaviour"


def behaviour(kind: str) -> KindBehaviour:
    return BEHAVIOURS[kind]


def is_visible(question: Question, values: Values, by_id: dict[int, Question]) -> bool:
    """Whether show-if rules (followed up the chain) let this question be asked."""
    seen: set[int] = set()
    current = question
    while current.show_if_question_id is not None:
        if current.pk in seen:  # a cycle is an authoring error: treat it as hidden
            return False
        seen.add(current.pk)
        parent = by_id.get(current.show_if_question_id)
        if parent is None:
            return False
        chosen = behaviour(parent.kind).chosen_keys(values.get(parent.key))
        if not chosen & set(current.show_if_choice_keys or []):
            return False
        current = parent
    return True


def other_chosen(question: Question, value: Any) -> bool:
    chosen = behaviour(question.kind).chosen_keys(value)
    return any(c.is_other and c.key in chosen for c in question.options)


def problems(question: Question, values: Values, by_id: dict[int, Question]) -> list[Problem]:
    """What is wrong with a visible question's answer in `values` (beyond its value being
    one the question offers, which the form fields and `from_json` check)."""
    kind = behaviour(question.kind)
    value = values.get(question.key)
    found: list[Problem] = []
    other_text = str(values.get(f"{question.key}__other", "") or "").strip()
    if other_text and question.has_other and not other_chosen(question, value):
        # Text under "Other" with "Other" not ticked would be dropped: say so, keep both.
        found.append(Problem('You wrote under "Other" without choosing it: tick "Other", or '
                             "clear the text.", OTHER_PART))  # fmt: skip
    lacking = kind.required_problems(question, value) if question.required else []
    if kind.is_missing(question, value):
        return [*found, *lacking]
    found += lacking  # a matrix with rows still unanswered
    chosen = kind.chosen_keys(value)
    if question.max_selections and len(chosen) > question.max_selections:
        found.append(Problem(f"Choose at most {question.max_selections}."))
    alone = [c for c in question.options if c.is_exclusive and c.key in chosen]
    if alone and len(chosen) > 1:
        found.append(
            Problem(
                f'"{alone[0].label}" cannot be chosen together with other answers: '
                f'choose "{alone[0].label}" alone, or untick it.'
            )
        )
    if question.differs_from_id is not None:
        earlier = by_id.get(question.differs_from_id)
        if earlier is not None and values.get(earlier.key) == value:
            label = next((c.label for c in question.options if c.key == value), str(value))
            found.append(
                Problem(
                    f'"{label}" is also your answer to "{earlier.text}": '
                    "the two answers must differ."
                )
            )
    if other_chosen(question, value) and not str(values.get(f"{question.key}__other", "")).strip():
        found.append(Problem('Please say what "Other" is, or untick it.', OTHER_PART))
    return found
