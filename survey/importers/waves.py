"""A wave's survey replaced by a new import, its curation carried over; the import summary.

Curation decisions (exclusions and their log) are kept by respondent hash, which an importer
derives from the record number, so re-importing a file (or its extract) re-attaches them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from .. import census
from ..models import Answer, CurationLog, Response, Series, Survey


class ImporterError(Exception):
    """A file or wave the importer refuses; the message is one line naming the problem."""


@dataclass
class ImportSummary:
    """What an import read, wrote, skipped and could not map: printed by the command."""

    wave: str
    survey: str = ""
    member: str = ""
    rows_read: int = 0
    imported: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    not_applicable: Counter[tuple[str, str]] = field(default_factory=Counter)
    left_out: Counter[tuple[str, str]] = field(default_factory=Counter)  # known_only questions
    answered: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        answered = "; ".join(f"answered {key}: {n:,}" for key, n in self.answered.items())
        out = [
            f"Wave {self.wave} -> survey {self.survey} (from {self.member})",
            f"Rows read: {self.rows_read:,}; imported: {self.imported:,}"
            + (f"; {answered}" if answered else "")
            + f"; {self.seconds:.1f} s",
        ]
        for reason, count in sorted(self.skipped.items()):
            out.append(f"Skipped {count:,} rows: {reason}")
        for (key, label), count in sorted(self.not_applicable.items()):
            out.append(f"{key}: {label!r} treated as not asked ({count:,} rows)")
        for (key, label), count in sorted(self.left_out.items()):
            out.append(f"{key}: {label!r} is none of its entities, left out ({count:,} answers)")
        if self.unmapped:
            out.append("Labels the taxonomy does not know (kept as choices to review):")
            for (key, label), count in sorted(self.unmapped.items()):
                out.append(f"  {key}: {label!r} ({count:,} answers)")
        out += self.notes
        return out


@dataclass
class Carried:
    """Curation decisions of a wave's previous import, by respondent hash."""

    decisions: dict[str, dict[str, Any]]
    logs: dict[str, list[int]]


def wave_replace(
    *, series_slug: str, slug: str, wave: str, title: str, fields: dict[str, str]
) -> tuple[Survey, Carried]:
    """The closed survey of an imported wave, emptied for a new import (call in a transaction).

    Refuses a wave label taken by another survey of the series, and a survey slug that lives
    in another series (importing would move it).
    """
    series_defaults: dict[str, Any] = {"title": series_slug}
    if series_slug == census.CENSUS_SPEC["series"]["slug"]:
        series_defaults = {
            key: census.CENSUS_SPEC["series"][key]
            for key in ("title", "description", "report_spec")
        }
    series, _ = Series.objects.get_or_create(slug=series_slug, defaults=series_defaults)
    clash = Survey.objects.filter(series=series, wave_label=wave).exclude(slug=slug).first()
    if clash is not None:
        raise ImporterError(
            f"wave {wave} of {series_slug} is the survey {clash.slug}, not an import"
        )
    elsewhere = (
        Survey.objects.filter(slug=slug).exclude(series=series).select_related("series").first()
    )
    if elsewhere is not None:
        raise ImporterError(
            f"wave {wave} is already imported into the series {elsewhere.series.slug}"
            f" (survey {elsewhere.slug}); import it with --series {elsewhere.series.slug}"
        )
    survey, _ = Survey.objects.select_for_update().get_or_create(
        slug=slug, defaults={"series": series, "wave_label": wave, "title": title}
    )
    survey.series = series
    survey.wave_label = wave
    survey.title = title
    survey.status = Survey.Status.CLOSED
    survey.is_synthetic = False
    survey.license = fields["license"][:200]
    survey.attribution = fields["attribution"][:300]
    survey.source = fields["source"][:200]
    survey.save()
    return survey, _curation_detach(survey)


def _curation_detach(survey: Survey) -> Carried:
    """Drop the wave's previous rows, keeping curation decisions and logs to re-attach."""
    decisions: dict[str, dict[str, Any]] = {
        str(row.pop("respondent_hash")): row  # type: ignore[misc]  # a values() row is a dict
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
    # Plain DELETEs: the ORM's cascade would load every response first (seconds per wave).
    # Answers and curation logs are the only rows that point at responses.
    quote = connection.ops.quote_name
    answers, responses = Answer._meta.db_table, Response._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {quote(answers)} WHERE {quote('response_id')} IN "
            f"(SELECT {quote('id')} FROM {quote(responses)} WHERE {quote('survey_id')} = %s)",
            [survey.pk],
        )
        cursor.execute(
            f"DELETE FROM {quote(responses)} WHERE {quote('survey_id')} = %s", [survey.pk]
        )
    survey.pages.all().delete()
    return Carried(decisions=decisions, logs=logs)


def curation_restore(survey: Survey, carried: Carried) -> None:
    """Re-attach carried decisions and logs to the new rows of the same respondents."""
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
