"""The imported wave's questions and choices, written through the one `survey_create`."""

from __future__ import annotations

from typing import Any

from ..models import Question, Survey
from ..services import Structure, survey_create
from ..taxonomy import DEFAULT_TAXONOMY
from .labels import Labels
from .layout import Found, Layout


def structure_write(
    *,
    survey: Survey,
    layout: Layout,
    found: Found,
    labels: dict[str, Labels],
    universes: dict[str, str],
    notes: dict[str, str],
) -> Structure:
    """Create the wave's one page of questions (the survey has no responses at this point).

    `universes` says who was asked each question when not everyone was; `notes` adds a
    sentence to a question's help text (which country answers have no region).
    """
    order = {
        kind: {spec[0]: n for n, spec in enumerate(specs)}
        for kind, specs in DEFAULT_TAXONOMY.items()
    }
    questions: list[dict[str, Any]] = []

    def add(
        key: str,
        text: str,
        kind: str,
        dimension: bool,
        choices: list[dict[str, Any]],
        **extra: Any,
    ) -> None:
        help_text = " ".join(filter(None, [extra.pop("help_text", ""), notes.get(key, "")]))
        questions.append(
            {
                "key": key,
                "kind": kind,
                "text": text,
                "is_dimension": dimension,
                "has_other": any(choice.get("is_other") for choice in choices),
                "help_text": help_text,
                "universe": universes.get(key, "")[:300],
                "choices": choices,
                **extra,
            }
        )

    def ranked(labels: Labels) -> list[dict[str, Any]]:
        entity_order = order.get(labels.taxonomy or "", {})

        def rank(item: tuple[str, tuple[str, bool, bool]]) -> tuple[int, int, str]:
            choice_key, (label, _other, review) = item
            special = {"none": 1, "other": 2}.get(choice_key, 0) if labels.special else 0
            return (special or (3 if review else 0), entity_order.get(choice_key, 999), label)

        return [
            {"key": k, "label": label[:300], "is_other": other, "needs_review": review}
            for k, (label, other, review) in sorted(labels.choices.items(), key=rank)
        ]

    singles = {single.key: single for single in layout.singles}
    groupings = {grouping.key: grouping for grouping in layout.groupings}
    grouped_by = {grouping.source: grouping for grouping in groupings.values()}
    for key in layout.order:
        if key in groupings:
            grouping = groupings[key]
            if grouping.source in found.singles:
                add(
                    key,
                    found.singles[grouping.source][1],
                    Question.Kind.SINGLE,
                    grouping.dimension,
                    [{"key": k, "label": label} for k, label in grouping.choices],
                    help_text=grouping.help_text,
                )
            continue
        if key not in found.singles:
            continue
        choices = ranked(labels[key])
        extra: dict[str, Any] = {}
        if key in grouped_by:
            # The disclosure control adds countries up into regions: record how.
            grouping = grouped_by[key]
            extra["grouped_into"] = grouping.key
            for choice in choices:
                choice["group_key"] = grouping.group(choice["label"]) or ""
        add(
            key,
            found.singles[key][1],
            Question.Kind.SINGLE,
            singles[key].dimension,
            choices,
            **extra,
        )
    for multi in layout.multis:
        add(
            multi.key,
            found.multis[multi.key].text,
            Question.Kind.MULTI,
            multi.dimension,
            ranked(labels[multi.key]),
        )
    spec = {
        "series": {"slug": survey.series.slug},
        "survey": {"slug": survey.slug},
        "pages": [{"title": layout.page_title, "questions": questions}],
    }
    survey_create(spec=spec)
    return Structure.of(survey)
