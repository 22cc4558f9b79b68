"""The wave's survey, its questions and choices, and the curation carried across imports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ... import census
from ...models import Answer, Choice, CurationLog, Page, Question, Response, Series, Survey
from ...taxonomy import DEFAULT_TAXONOMY
from ..regions import region_of
from .labels import QUESTION_KINDS, _Labels
from .layout import Layout
from .waves import ImportSummary, KaggleImportError

DIMENSIONS = {"role", "company_size", "industry", "region", "ml_experience"}
QUESTION_ORDER = ["role", "company_size", "industry", "country", "region", "ml_experience"]


def _survey_replace(
    *, summary: ImportSummary, series_slug: str, wave: str, **fields: str
) -> Survey:
    series_defaults = {"title": series_slug}
    if series_slug == census.CENSUS_SPEC["series"]["slug"]:
        series_defaults = {
            "title": census.CENSUS_SPEC["series"]["title"],
            "description": census.CENSUS_SPEC["series"]["description"],
        }
    series, _ = Series.objects.get_or_create(slug=series_slug, defaults=series_defaults)
    clash = (
        Survey.objects.filter(series=series, wave_label=wave).exclude(slug=summary.survey).first()
    )
    if clash is not None:
        raise KaggleImportError(
            f"wave {wave} of {series_slug} is the survey {clash.slug}, not a Kaggle import"
        )
    elsewhere = (
        Survey.objects.filter(slug=summary.survey).exclude(series=series).select_related("series")
    ).first()
    if elsewhere is not None:
        # The wave's survey slug is global: importing it here would move it out of its series.
        raise KaggleImportError(
            f"wave {wave} is already imported into the series {elsewhere.series.slug}"
            f" (survey {elsewhere.slug}); import it with --series {elsewhere.series.slug}"
        )
    survey, _ = Survey.objects.select_for_update().get_or_create(
        slug=summary.survey,
        defaults={"series": series, "wave_label": wave, "title": ""},
    )
    survey.series = series
    survey.wave_label = wave
    survey.title = f"Kaggle ML & DS Survey {wave}"
    survey.status = Survey.Status.CLOSED
    survey.is_synthetic = False
    survey.license = fields["license"][:200]
    survey.attribution = fields["attribution"][:300]
    survey.source = fields["source"][:200]
    survey.save()
    return survey


@dataclass
class _Carried:
    """Curation decisions of a wave's previous import, by respondent hash."""

    decisions: dict[str, dict[str, Any]]
    logs: dict[str, list[int]]


def _curation_detach(survey: Survey) -> _Carried:
    """Drop the wave's previous rows, keeping curation decisions and logs to re-attach."""
    decisions = {
        row.pop("respondent_hash"): row
        for row in Response.objects.filter(
            survey=survey, curation=Response.Curation.EXCLUDED
        ).values("respondent_hash", "curation", "exclusion_reason", "curated_by", "curated_at")
    }
    logs: dict[str, list[int]] = {}
    for pk, respondent in CurationLog.objects.filter(response__survey=survey).values_list(
        "pk", "response__respondent_hash"
    ):
        logs.setdefault(respondent, []).append(pk)
    CurationLog.objects.filter(response__survey=survey).update(response=None)
    Answer.objects.filter(response__survey=survey).delete()
    Response.objects.filter(survey=survey).delete()
    survey.pages.all().delete()
    return _Carried(decisions=decisions, logs=logs)


def _curation_restore(survey: Survey, carried: _Carried) -> None:
    if not carried.decisions and not carried.logs:
        return
    ids = dict(
        Response.objects.filter(
            survey=survey, respondent_hash__in=[*carried.decisions, *carried.logs]
        ).values_list("respondent_hash", "pk")
    )
    for respondent, decision in carried.decisions.items():
        if respondent in ids:
            decision["curated_by_id"] = decision.pop("curated_by")
            Response.objects.filter(pk=ids[respondent]).update(**decision)
    for respondent, log_ids in carried.logs.items():
        if respondent in ids:
            CurationLog.objects.filter(pk__in=log_ids).update(response_id=ids[respondent])


def _structure_create(*, survey: Survey, layout: Layout, labels: dict[str, _Labels]) -> None:
    page = Page.objects.create(survey=survey, position=1, title="About you and your frameworks")
    position = 0
    order = {
        kind: {spec[0]: n for n, spec in enumerate(specs)}
        for kind, specs in DEFAULT_TAXONOMY.items()
    }

    def add(key: str, text: str, kind: str, choices: dict[str, tuple[str, bool, bool]]) -> None:
        nonlocal position
        position += 1
        question = Question.objects.create(
            survey=survey,
            page=page,
            position=position,
            key=key,
            kind=kind,
            text=text,
            is_dimension=key in DIMENSIONS,
            has_other=any(other for _label, other, _review in choices.values()),
            help_text=(
                "Derived from the country answer, grouped into the Census regions."
                if key == "region"
                else ""
            ),
        )
        entity_order = order.get(QUESTION_KINDS.get(key, "framework"), {})

        def rank(item: tuple[str, tuple[str, bool, bool]]) -> tuple[int, int, str]:
            choice_key, (label, other, review) = item
            special = {"none": 1, "other": 2}.get(choice_key, 0) if key == "frameworks_used" else 0
            return (special or (3 if review else 0), entity_order.get(choice_key, 999), label)

        Choice.objects.bulk_create(
            Choice(
                question=question,
                key=choice_key,
                label=label[:300],
                position=n,
                is_other=other,
                needs_review=review,
            )
            for n, (choice_key, (label, other, review)) in enumerate(
                sorted(choices.items(), key=rank), start=1
            )
        )

    for key in QUESTION_ORDER:
        if key == "region":
            if "country" in layout.singles:
                add(
                    "region",
                    layout.singles["country"][1],
                    Question.Kind.SINGLE,
                    {k: (label, False, False) for k, label in census.REGIONS},
                )
            continue
        if key in layout.singles:
            add(key, layout.singles[key][1], Question.Kind.SINGLE, labels[key].choices)
    _group_countries(survey)
    add(
        "frameworks_used",
        layout.frameworks.text,
        Question.Kind.MULTI,
        labels["frameworks_used"].choices,
    )


def _group_countries(survey: Survey) -> None:
    """Record that region adds up from country, so disclosure control knows the sum."""
    country = survey.questions.filter(key="country").first()
    region = survey.questions.filter(key="region").first()
    if country is None or region is None:
        return
    country.grouped_into = region
    country.save(update_fields=["grouped_into"])
    choices = list(country.choices.all())
    for choice in choices:
        choice.group_key = region_of(choice.label) or ""
    Choice.objects.bulk_update(choices, ["group_key"])
