"""snapshot_build: read, aggregate, weight, estimate, protect, and write one snapshot."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from survey import selectors
from survey.models import Series, Survey

from .. import disclosure, estimates, weighting
from ..disclosure import Context, Figure
from ..models import RebuildJob, Snapshot, WeightingTarget
from .cells import Sums, cell_estimate, cells_intervals, cells_write, change_cells
from .figures import wave_figures
from .summary import summary_build, target_record

logger = logging.getLogger(__name__)

# Bump when a change to this package changes what the same inputs produce.
BUILD_VERSION = "1"

Progress = Callable[[int, str], None]


@contextmanager
def _timed(timings: dict[str, float] | None, phase: str) -> Iterator[None]:
    """Add the wall time of the block to `timings[phase]` when the caller asked for timings."""
    started = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[phase] = timings.get(phase, 0.0) + time.perf_counter() - started


def _reporter(job_id: int | None, progress: Progress | None) -> Progress:
    def report(percent: int, message: str) -> None:
        if progress is not None:
            progress(percent, message)
        _progress(job_id, percent, message)

    return report


def _progress(job_id: int | None, percent: int, message: str) -> None:
    if job_id is None:
        return
    RebuildJob.objects.filter(pk=job_id).update(
        progress=max(0, min(100, percent)), message=message[:300], heartbeat_at=timezone.now()
    )


def _context(waves: list[Survey]) -> Context:
    """What the attacker's model knows of the questions (the latest wave's kind wins)."""
    kinds: dict[str, str] = {}
    dimension_kinds: dict[str, str] = {}
    groupings: dict[str, tuple[str, dict[str, str]]] = {}
    for survey in waves:
        by_pk = {q.pk: q for q in survey.questions.all()}
        for question in by_pk.values():
            kinds[question.key] = question.kind
            if question.is_dimension and question.can_segment:
                dimension_kinds[question.key] = question.kind
            coarser = by_pk.get(question.grouped_into_id) if question.grouped_into_id else None
            if coarser is not None:
                mapping = {c.key: c.group_key for c in question.options if c.group_key}
                groupings[question.key] = (coarser.key, mapping)
    return Context(kinds=kinds, dimension_kinds=dimension_kinds, groupings=groupings)


def _weighted_shown(
    protected: list[Figure], raked_on: list[str], cap: int | None, totals: dict[str, int | None]
) -> list[bool]:
    """Per figure, whether its weighted share may be published (see rules).

    With one raking dimension D, a whole-sample weighted share is a fixed combination of its
    row's breakdown by D, so it is published only when that breakdown is published in full:
    the row's own table by D, or (a cross published the other way round) D's table broken
    down by the question, every cell and base of it shown. A breakdown that is withheld,
    hidden in part, or never published would make the weighted share an equation over it.
    """
    if len(raked_on) != 1:
        return [False] * len(protected)
    dimension = raked_on[0]
    direct: dict[tuple[str, ...], bool] = {}  # row -> its breakdown by D all shown
    transposed: dict[tuple[str, str], bool] = {}  # (wave, question) -> D's table by it shown
    complete: dict[str, bool] = {}
    for f in protected:
        shown = f.count is not None and f.base_n is not None
        if f.dimension == dimension:
            row = (f.measure, f.wave, f.question, f.choice, f.option)
            direct[row] = direct.get(row, True) and shown
        elif f.question == dimension and f.dimension:
            table = (f.wave, f.dimension)
            transposed[table] = transposed.get(table, True) and shown
        elif f.question == dimension:
            complete[f.wave] = f.base_n is not None and f.base_n == totals.get(f.wave)

    def broken_down(f: Figure) -> bool:
        if f.question == dimension:
            return True  # the dimension's own shares: its published sizes
        row = (f.measure, f.wave, f.question, f.choice, f.option)
        if row in direct:
            return direct[row]
        return f.measure == disclosure.SHARE and transposed.get((f.wave, f.question), False)

    return [
        disclosure.weighted_publishable(
            raked_on=raked_on,
            employer_cap=cap,
            dimension=f.dimension,
            row_shown=complete.get(f.wave, False) and f.count is not None and broken_down(f),
        )
        for f in protected
    ]


READ_ATTEMPTS = 3


def _read(
    series: Series,
    waves: list[Survey],
    k: int,
    weighted: bool,
    targets: list[WeightingTarget],
    report_progress: Progress,
) -> tuple[list[Figure], list[Sums | None], dict[str, Any]]:
    """Every wave's figures, then the summary, as one consistent read where the database
    offers one (PostgreSQL: a repeatable-read transaction). The summary is read last, so a
    response submitted meanwhile can only make a wave's n larger than its figures' people,
    never smaller; a wave under k keeps its summary only."""
    figures: list[Figure] = []
    sums: list[Sums | None] = []
    design_effects: dict[str, float | None] = {}
    outermost = not connection.in_atomic_block  # inside a caller's transaction: its snapshot
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for index, survey in enumerate(waves):
            report_progress(5 + 65 * index // max(1, len(waves)), f"Counting {survey.wave_label}")
            result = wave_figures(
                survey, targets=targets, cap=series.employer_cap, weighted=weighted
            )
            figures += result.figures
            sums += result.sums
            design_effects[survey.wave_label] = result.design_effect
        summary = summary_build(series, waves, k, weighted, targets, design_effects)
    totals = disclosure.wave_totals(summary)
    kept = [i for i, f in enumerate(figures) if totals.get(f.wave)]
    return [figures[i] for i in kept], [sums[i] for i in kept], summary


def _protect(
    figures: list[Figure],
    sums: list[Sums | None],
    summary: dict[str, Any],
    context: Context,
    k: int,
    totals: dict[str, int | None],
    timings: dict[str, float] | None = None,
) -> tuple[list[Figure], list[Sums | None], disclosure.Protection]:
    """Withhold thin breakdowns, then protect what is left; records both in the summary."""
    multi = frozenset(q for q, kind in context.kinds.items() if kind == "multi")
    thin = disclosure.sparse_breakdowns(figures, k, multi)
    kept = [i for i, f in enumerate(figures) if not disclosure.withheld(f, thin)]
    figures, sums = [figures[i] for i in kept], [sums[i] for i in kept]
    summary["withheld_breakdowns"] = sorted([list(key) for key in thin])
    left_out = frozenset(
        f.wave
        for f in figures
        if f.measure == disclosure.RETENTION and f.flag == disclosure.CONTRADICTIONS_EXCLUDED
    )
    for wave in summary["waves"]:
        wave["contradictions_excluded"] = wave["label"] in left_out
    with _timed(timings, "protect"):
        protection = disclosure.protect(figures, context, k, totals, left_out)
    return figures, sums, protection


def _digest(record: dict[str, Any]) -> str:
    encoded = json.dumps(record, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def snapshot_build(
    *,
    series_id: int,
    job_id: int | None = None,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> Snapshot:
    """Build a new snapshot of a series (status ready, not yet published).

    Progress goes to the job row (percent, message, heartbeat) and to `progress` if given.
    `timings`, if given, receives the seconds spent protecting ("protect") and auditing
    ("audit"), the disclosure solver's part of the build (for the benchmarks).
    """
    report_progress = _reporter(job_id, progress)
    series = Series.objects.get(pk=series_id)
    k = disclosure.k_for(series.k_threshold)
    report_progress(2, "Reading the series")
    # The watermark is read first: later reads may include newer responses, never older.
    state = selectors.accepted_state(series_id=series_id)
    taxonomy = selectors.taxonomy_version_applied()
    waves = selectors.series_waves(series_id=series_id)
    targets = list(WeightingTarget.objects.filter(series=series).order_by("dimension", "segment"))
    weighted = bool(series.weighting_enabled and (targets or series.employer_cap))
    parameters = {
        "k": k,
        "n_eff_min": disclosure.N_EFF_MIN,
        "confidence": 1 - estimates.ALPHA,
        "interval": {"share": estimates.SHARE_METHOD, "change": estimates.CHANGE_METHOD},
        "weighting": {
            "enabled": weighted,
            "targets": [target_record(t) for t in targets] if weighted else [],
            "trim": list(weighting.TRIM),
            "employer_cap": series.employer_cap if weighted else None,
        },
    }
    context = _context(waves)
    for attempt in range(READ_ATTEMPTS):
        figures, sums, summary = _read(series, waves, k, weighted, targets, report_progress)
        totals = disclosure.wave_totals(summary)
        report_progress(75, "Protecting small groups")
        try:
            figures, sums, protection = _protect(
                figures, sums, summary, context, k, totals, timings
            )
            break
        except disclosure.InconsistentFigures:
            # Answers changed between two reads (an edit, say): read everything again.
            logger.warning("Figures of %s changed while read (attempt %d)", series, attempt + 1)
    else:
        raise disclosure.InconsistentFigures(f"The figures of {series} kept changing while read.")
    summary["withheld_waves"] = protection.withheld
    sums = [s for f, s in zip(figures, sums, strict=True) if f.wave not in protection.withheld]
    parameters["disclosure_model"] = context.as_dict()
    raked_on = sorted({t.dimension for t in targets}) if weighted else []
    shown_weighted = _weighted_shown(protection.figures, raked_on, series.employer_cap, totals)
    cells = [
        cell_estimate(shown, s, w)
        for shown, s, w in zip(protection.figures, sums, shown_weighted, strict=True)
    ]
    cells_intervals(cells)
    cells += change_cells(cells, waves)
    watermark = state["watermark"]
    inputs = {
        "series": series.slug,
        "watermark": watermark.isoformat() if watermark else None,
        "response_count": state["count"],
        "taxonomy_version": taxonomy,
        "parameters": parameters,
        "code_version": BUILD_VERSION,
    }
    report_progress(90, f"Writing {len(cells)} cells")
    with transaction.atomic():
        snapshot = Snapshot.objects.create(
            series=series,
            status=Snapshot.Status.BUILDING,
            watermark=watermark,
            response_count=state["count"],
            taxonomy_version=taxonomy,
            parameters=parameters,
            code_version=BUILD_VERSION,
            inputs_digest=_digest(inputs),
            summary=summary,
        )
        cells_write(snapshot_id=snapshot.pk, cells=cells)
        with _timed(timings, "audit"):
            audit_report = disclosure.audit(snapshot)
        snapshot.audit_passed = audit_report["passed"]
        snapshot.audit_report = audit_report
        snapshot.status = Snapshot.Status.READY
        snapshot.built_at = timezone.now()
        snapshot.save(
            update_fields=["audit_passed", "audit_report", "status", "built_at"],
        )
    report_progress(95, "Built")
    logger.info("Built %s: %d cells, audit %s", snapshot, len(cells), snapshot.audit_passed)
    return snapshot
