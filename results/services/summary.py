"""The snapshot's summary: n per wave and channel, exclusions, questions, breaks."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from survey import selectors
from survey.models import Question, Series, Survey

from .. import disclosure, estimates, weighting
from ..models import WeightingTarget
from .structure import (
    normalized_text,
    published_questions,
)


def summary_build(
    series: Series,
    waves: list[Survey],
    k: int,
    weighted: bool,
    targets: list[WeightingTarget],
    design_effects: dict[str, float | None],
) -> dict[str, Any]:
    tallies = selectors.wave_response_tallies(survey_ids=[s.pk for s in waves])
    wave_rows = []
    for survey in waves:
        mine = [t for t in tallies if t["survey_id"] == survey.pk]
        accepted = [t for t in mine if t["curation"] == "accepted"]
        excluded = [t for t in mine if t["curation"] != "accepted"]
        n = sum(t["n"] for t in accepted)
        n_excluded = sum(t["n"] for t in excluded)
        channels: dict[str, int] = defaultdict(int)
        for t in accepted:
            channels[t["channel"] or "direct"] += t["n"]
        reasons: dict[str, int] = defaultdict(int)
        for t in excluded:
            reasons[t["exclusion_reason"] or "unspecified"] += t["n"]
        wave_rows.append(
            {
                "label": survey.wave_label,
                "survey": survey.slug,
                "title": survey.title,
                "fielded_from": survey.fielded_from.isoformat() if survey.fielded_from else None,
                "fielded_to": survey.fielded_to.isoformat() if survey.fielded_to else None,
                "n": None if disclosure.is_small(n, k) else n,
                "n_excluded": None if disclosure.is_small(n_excluded, k) else n_excluded,
                "exclusions": disclosure.protect_people(
                    dict(reasons), k, n_excluded, "other reasons"
                ),
                "channels": disclosure.protect_people(dict(channels), k, n, "other channels"),
                "null_means": disclosure.FEWER_THAN_K,
                "source": survey.source,
                "license": survey.license,
                "attribution": survey.attribution,
                "is_synthetic": survey.is_synthetic or series.is_synthetic,
            }
        )
    return {
        "series": {"slug": series.slug, "title": series.title, "is_synthetic": series.is_synthetic},
        "k": k,
        "n_eff_min": disclosure.N_EFF_MIN,
        "interval": estimates.INTERVAL_NOTE,
        "waves": wave_rows,
        "questions": _questions_summary(waves),
        "breaks": _breaks(waves),
        "weighting": {
            "enabled": weighted,
            "targets": [target_record(t) for t in targets] if weighted else [],
            "trim": list(weighting.TRIM),
            "employer_cap": series.employer_cap,
            "design_effect": {label: d for label, d in design_effects.items() if d is not None},
        },
    }


def target_record(target: WeightingTarget) -> dict[str, Any]:
    return {
        "dimension": target.dimension,
        "segment": target.segment,
        "share": target.share,
        "source": target.source,
    }


def _questions_summary(waves: list[Survey]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for survey in waves:
        for question in survey.questions.all():
            published = question.is_closed and not question.is_sensitive
            entry = found.setdefault(question.key, {"key": question.key, "waves": {}})
            entry.update(
                kind=question.kind,
                is_dimension=question.is_dimension,
                published=published,
            )
            matrix = question.kind == Question.Kind.MATRIX
            choices = question.rows if matrix else question.options
            coarser = question.grouped_into.key if question.grouped_into is not None else ""
            entry["waves"][survey.wave_label] = {
                "text": question.text,
                "universe": question.universe,
                "grouped_into": coarser,
                "choices": [
                    [c.key, c.label, c.group_key] if coarser else [c.key, c.label] for c in choices
                ]
                if published
                else [],
                "columns": ([[c.key, c.label] for c in question.columns] if published else []),
            }
    return list(found.values())


def _breaks(waves: list[Survey]) -> list[dict[str, str]]:
    """Where a question's wording, or who was asked it (its universe), changed between waves."""
    seen: dict[str, tuple[str, str, str]] = {}
    breaks = []
    for survey in waves:
        for question in published_questions(survey):
            text, universe = normalized_text(question.text), question.universe.strip()
            previous = seen.get(question.key)
            if previous is not None:
                found = {
                    "question": question.key,
                    "wave": survey.wave_label,
                    "previous_wave": previous[0],
                }
                if previous[1] != text:
                    breaks.append({**found, "kind": "wording"})
                if normalized_text(previous[2]) != normalized_text(universe):
                    breaks.append(
                        {
                            **found,
                            "kind": "universe",
                            "universe": universe,
                            "previous_universe": previous[2],
                        }
                    )
            seen[question.key] = (survey.wave_label, text, universe)
    return breaks
