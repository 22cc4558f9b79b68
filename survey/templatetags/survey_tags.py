from django import template
from django.forms import BoundField
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from survey.forms import PageForm
from survey.kinds import behaviour, field_name, other_field_name
from survey.models import Question

register = template.Library()


@register.filter
def field_for(form: PageForm, question: Question) -> BoundField | None:
    name = field_name(question)
    return form[name] if name in form.fields else None


@register.filter
def other_for(form: PageForm, question: Question) -> BoundField | None:
    name = other_field_name(question)
    return form[name] if name in form.fields else None


@register.filter
def rows_for(form: PageForm, question: Question) -> list[BoundField]:
    return form.rows_for(question)


@register.filter
def kind_template(question: Question) -> str:
    """The partial that draws this kind's fields (templates/survey/kinds/)."""
    return behaviour(question.kind).template


@register.filter
def has_errors(question: Question, form: PageForm) -> bool:
    prefix = field_name(question)
    return any(name == prefix or name.startswith(prefix + "__") for name in form.errors)


@register.filter
def show_if_labels(question: Question, form: PageForm) -> str:
    # The parent from the form's structure, whose choices are loaded (not a query per page).
    parent = form.by_id.get(question.show_if_question_id or 0)
    if parent is None:
        return ""
    wanted = set(question.show_if_choice_keys or [])
    labels = [c.label for c in parent.options if c.key in wanted]
    if len(labels) > 3:
        return f'one of {len(labels)} answers to "{parent.text}"'
    return " or ".join(f'"{label}"' for label in labels)


@register.filter
def errors_for(form: PageForm, question: Question) -> list[str]:
    """One message list per question, announced through the fieldset's aria-describedby."""
    if question.kind == Question.Kind.MATRIX:
        rows = [name for name in form.errors if name.startswith(field_name(question) + "__")]
        rows = [name for name in rows if name != other_field_name(question)]
        messages = [f"{len(rows)} row(s) below need attention."] if rows else []
    else:
        messages = [str(m) for m in form.errors.get(field_name(question), [])]
    messages += [str(m) for m in form.errors.get(other_field_name(question), [])]
    return messages


def _input_tag(data: dict) -> str:
    """One radio or checkbox as Django's input.html writes it, without a template per option
    (a Census page has up to a hundred: the widget templates were most of its render time)."""
    parts = [f'<input type="{data["type"]}" name="{conditional_escape(data["name"])}"']
    if data["value"] is not None:
        parts.append(f' value="{conditional_escape(str(data["value"]))}"')
    for name, value in data["attrs"].items():
        if value is True:
            parts.append(f" {name}")
        elif value is not False:
            parts.append(f' {name}="{conditional_escape(str(value))}"')
    parts.append(">")
    return "".join(parts)


@register.filter
def option_labels(field: BoundField | None) -> SafeString:
    """Every option of a radio or checkbox field, each inside its label."""
    if field is None:
        return mark_safe("")  # noqa: S308 (a constant)
    return mark_safe(  # noqa: S308 (every value escaped in _input_tag and here)
        "".join(
            f'<label class="opt-label">{_input_tag(option.data)} '
            f"{conditional_escape(option.choice_label)}</label>"
            for option in field.subwidgets
        )
    )
