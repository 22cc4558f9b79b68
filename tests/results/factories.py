"""Snapshots and cells as the build pipeline writes them, for tests of the public side.

`census_snapshot` makes a small but complete Census series: three waves (the 2018 Kaggle wave
asked a differently worded question), changes between waves, the "is it dead?" measures,
breakdowns by two dimensions for the latest wave, and suppressed cells.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import factory
from django.utils import timezone
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from results.models import Cell, Snapshot
from survey.census import COMPANY_SIZES, FRAMEWORKS, REPORT_SPEC, ROLES, STATUSES
from survey.models import Series

WAVES = ["2018", "2022", "2026"]
OLD_TEXT = "Which of the following machine learning frameworks have you used in the past 5 years?"
NEW_TEXT = "Which of the following machine learning frameworks do you use on a regular basis?"
# Respondents per wave and the share using each framework: a story for tests, not data.
WAVE_N = {"2018": 4000, "2022": 3000, "2026": 900}
USE = {
    "pytorch": {"2018": 0.20, "2022": 0.45, "2026": 0.62},
    "tensorflow": {"2018": 0.50, "2022": 0.40, "2026": 0.31},
    "keras": {"2018": 0.45, "2022": 0.35, "2026": 0.34},
    "jax": {"2018": 0.01, "2022": 0.05, "2026": 0.09},
    "scikit-learn": {"2018": 0.60, "2022": 0.62, "2026": 0.60},
}
HOSTILE_KEY = "=cmd|' /C calc'!A0"
HOSTILE_LABEL = '=HYPERLINK("http://evil.example/","click")'
# Planted in a suppressed cell: it must never reach a page, a CSV or the API.
LEAK = 0.123456


class SeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Series
        django_get_or_create = ("slug",)

    slug = "ml-frameworks"
    title = "ML Framework Census"
    description = "Which machine learning frameworks practitioners use."
    report_spec = REPORT_SPEC


class SnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Snapshot

    series = factory.SubFactory(SeriesFactory)
    status = Snapshot.Status.READY
    built_at = factory.LazyFunction(timezone.now)
    published_at = factory.LazyFunction(timezone.now)
    summary = factory.LazyAttribute(lambda o: summary_for(o.series))


class CellFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cell

    snapshot = factory.SubFactory(SnapshotFactory)
    measure = Cell.Measure.SHARE
    wave = "2026"
    question = "frameworks_used"
    choice = "pytorch"


def wilson(count: int, base: int) -> tuple[float, float]:
    low, high = proportion_confint(count, base, alpha=0.05, method="wilson")
    return float(low), float(high)


def share_cell(count: int, base: int, **fields: Any) -> Cell:
    low, high = wilson(count, base)
    return Cell(base_n=base, count=count, share=count / base, ci_low=low, ci_high=high, **fields)


def suppressed_cell(flag: str, **fields: Any) -> Cell:
    # The contract says suppressed values are null; the planted numbers check the readers
    # mask them anyway.
    return Cell(flag=flag, base_n=None, count=7, share=LEAK, ci_low=LEAK, ci_high=LEAK, **fields)


def summary_for(series: Series, *, hostile: bool = False) -> dict[str, Any]:
    frameworks = [(key, label) for key, label in FRAMEWORKS if key in USE]
    if hostile:
        frameworks.append((HOSTILE_KEY, HOSTILE_LABEL))
    waves = [
        {
            "label": "2018",
            "survey": "kaggle-2018",
            "title": "Kaggle ML & DS Survey 2018",
            "fielded_from": "2018-10-22",
            "fielded_to": "2018-10-29",
            "n": WAVE_N["2018"],
            "n_excluded": 120,
            "exclusions": {"duplicate": 100, "too fast": 20},
            "channels": {"kaggle": WAVE_N["2018"]},
            "source": "Kaggle ML & DS Survey",
            "license": "ODbL 1.0",
            "attribution": "Kaggle, 2018 Kaggle ML & DS Survey",
            "is_synthetic": series.is_synthetic,
        },
        {
            "label": "2022",
            "survey": "kaggle-2022",
            "title": "Kaggle ML & DS Survey 2022",
            "fielded_from": "2022-09-16",
            "fielded_to": "2022-10-16",
            "n": WAVE_N["2022"],
            "n_excluded": 40,
            "exclusions": {"duplicate": 40},
            "channels": {"kaggle": WAVE_N["2022"]},
            "source": "Kaggle ML & DS Survey",
            "license": "CC0 1.0",
            "attribution": "Kaggle, 2022 Kaggle ML & DS Survey",
            "is_synthetic": series.is_synthetic,
        },
        {
            "label": "2026",
            "survey": "census-2026",
            "title": "ML Framework Census 2026",
            "fielded_from": "2026-03-01",
            "fielded_to": "2026-04-30",
            "n": WAVE_N["2026"],
            "n_excluded": 14,
            "exclusions": {"too fast": None, "straight-lining": None},
            # Secondary suppression: with only one channel hidden it could be recovered
            # from n by subtraction.
            "channels": {"newsletter": 500, "social": None, "conference": None},
            "source": "Tally ML Framework Census",
            "license": "CC BY 4.0",
            "attribution": "Tally, ML Framework Census 2026",
            "is_synthetic": series.is_synthetic,
        },
    ]
    used_choices = [[key, label] for key, label in frameworks]
    questions = [
        {
            "key": "frameworks_used",
            "kind": "multi",
            "is_dimension": False,
            "waves": {
                wave: {"text": OLD_TEXT if wave == "2018" else NEW_TEXT, "choices": used_choices}
                for wave in WAVES
            },
        },
        {
            "key": "framework_status",
            "kind": "matrix",
            "is_dimension": False,
            "waves": {
                "2026": {
                    "text": "For each framework, which best describes how you use it?",
                    "choices": used_choices,
                    "columns": [list(pair) for pair in STATUSES],
                }
            },
        },
        {
            "key": "company_size",
            "kind": "single",
            "is_dimension": True,
            "waves": {
                wave: {
                    "text": "How many employees does your organization have?",
                    "choices": [list(pair) for pair in COMPANY_SIZES],
                }
                for wave in WAVES
            },
        },
        {
            "key": "role",
            "kind": "single",
            "is_dimension": True,
            "waves": {
                wave: {
                    "text": "Which title is closest to your current role?",
                    "choices": [list(pair) for pair in ROLES[:3]],
                }
                for wave in WAVES
            },
        },
        {
            "key": "company_name",
            "kind": "text",
            "is_dimension": False,
            "published": False,
            "waves": {"2026": {"text": "Your organization's name (optional)", "choices": []}},
        },
    ]
    return {
        "series": {
            "slug": series.slug,
            "title": series.title,
            "is_synthetic": series.is_synthetic,
        },
        "k": series.k_threshold,
        "n_eff_min": 30,
        "interval": "95% Wilson score interval; Newcombe hybrid score interval for changes",
        "waves": waves,
        "questions": questions,
        "breaks": [{"question": "frameworks_used", "wave": "2022", "previous_wave": "2018"}],
        "weighting": {"enabled": False, "targets": [], "trim": [0.2, 5.0], "employer_cap": 3},
    }


def census_cells(snapshot: Snapshot, *, hostile: bool = False) -> list[Cell]:
    cells: list[Cell] = []
    used = dict(USE)
    if hostile:
        used[HOSTILE_KEY] = {"2018": 0.03, "2022": 0.04, "2026": 0.05}
    for choice, by_wave in used.items():
        for wave in WAVES:
            base = WAVE_N[wave]
            cells.append(
                share_cell(
                    round(by_wave[wave] * base),
                    base,
                    wave=wave,
                    question="frameworks_used",
                    choice=choice,
                )
            )
        # 2018 -> 2022 crosses the wording break: no change is published across it.
        cells.append(
            Cell(
                measure=Cell.Measure.CHANGE,
                wave="2022",
                compare_wave="2018",
                question="frameworks_used",
                choice=choice,
                flag="wording-break",
            )
        )
        later, earlier = round(by_wave["2026"] * 900), round(by_wave["2022"] * 3000)
        low, high = confint_proportions_2indep(
            later, 900, earlier, 3000, method="newcomb", compare="diff"
        )
        cells.append(
            Cell(
                measure=Cell.Measure.CHANGE,
                wave="2026",
                compare_wave="2022",
                question="frameworks_used",
                choice=choice,
                base_n=900,
                share=later / 900 - earlier / 3000,
                ci_low=float(low),
                ci_high=float(high),
                flag="no-detectable-change" if low <= 0 <= high else "",
            )
        )
    # "Is it dead?": adoption for new projects, retention, migration (latest wave only).
    for choice, new_share in {"pytorch": 0.55, "tensorflow": 0.12, "jax": 0.07}.items():
        for option, _ in STATUSES:
            fields = {"wave": "2026", "question": "framework_status", "choice": choice}
            share = new_share if option == "new-projects" else (1 - new_share) / 4
            cells.append(share_cell(round(share * 800), 800, option=option, **fields))
    cells.append(
        suppressed_cell(
            "hidden",
            wave="2026",
            question="framework_status",
            choice="keras",
            option="new-projects",
        )
    )
    for choice, (count, base) in {"pytorch": (410, 450), "tensorflow": (140, 380)}.items():
        cells.append(
            share_cell(
                count,
                base,
                measure=Cell.Measure.RETENTION,
                wave="2026",
                question="framework_status",
                choice=choice,
            )
        )
    for (source, target), count in {
        ("tensorflow", "pytorch"): 90,
        ("tensorflow", "jax"): 25,
        ("keras", "pytorch"): 40,
    }.items():
        cells.append(
            share_cell(
                count,
                160,
                measure=Cell.Measure.MIGRATION,
                wave="2026",
                question="migration",
                choice=source,
                option=target,
            )
        )
    cells.append(
        suppressed_cell(
            "hidden",
            measure=Cell.Measure.MIGRATION,
            wave="2026",
            question="migration",
            choice="pytorch",
            option="tensorflow",
        )
    )
    # Breakdowns for the latest wave, with suppression where groups are small.
    for segment, _ in COMPANY_SIZES:
        for choice in ("pytorch", "tensorflow"):
            fields = {
                "wave": "2026",
                "question": "frameworks_used",
                "choice": choice,
                "dimension": "company_size",
                "segment": segment,
            }
            if segment == "10000-plus" and choice == "tensorflow":
                cells.append(suppressed_cell("hidden", **fields))
            elif segment == "10000-plus":
                cells.append(suppressed_cell("hidden", **fields))
            else:
                cells.append(share_cell(60 if choice == "pytorch" else 40, 150, **fields))
    for segment, _ in ROLES[:3]:
        cells.append(
            share_cell(
                120,
                200,
                wave="2026",
                question="frameworks_used",
                choice="pytorch",
                dimension="role",
                segment=segment,
            )
        )
    for cell in cells:
        cell.snapshot = snapshot
    return cells


def census_snapshot(
    *,
    series: Series | None = None,
    published: bool = True,
    hostile: bool = False,
    synthetic: bool = False,
    published_ago: timedelta = timedelta(hours=1),
) -> Snapshot:
    """A ready snapshot of the Census series with its cells, published unless told not to."""
    if series is None:
        series = cast(Series, SeriesFactory(is_synthetic=synthetic))
    snapshot = cast(
        Snapshot,
        SnapshotFactory(
            series=series,
            published_at=timezone.now() - published_ago if published else None,
            summary=summary_for(series, hostile=hostile),
        ),
    )
    Cell.objects.bulk_create(census_cells(snapshot, hostile=hostile))
    return snapshot
