from django import template
from django.forms import BoundField

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
def show_if_labels(question: Question) -> str:
    parent = question.show_if_question
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
