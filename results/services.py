"""Snapshot builds and publishing: the multi-row writes of results.

snapshot_build reads through survey.selectors (aggregates come back from SQL GROUP BY),
weights, estimates, protects through results.disclosure, and writes the snapshot and its
cells in one transaction. Nothing here loops over responses.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from survey import selectors
from survey.models import Choice, Question, Series, Survey

from . import disclosure, estimates, weighting
from .disclosure import Context, Figure
from .models import Cell, RebuildJob, Snapshot, WeightingTarget

logger = logging.getLogger(__name__)

# Bump when a change to this module changes what the same inputs produce.
BUILD_VERSION = "1"
DIGITS = 10  # stored floats are rounded so that rebuilds compare equal
STALE_JOB_SECONDS = 300  # a running job silent this long lost its worker
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
SEGMENT_KINDS = (Question.Kind.SINGLE, Question.Kind.MULTI, Question.Kind.SCALE)


class SnapshotNotPublishableError(Exception):
    """The snapshot is not ready, or its disclosure audit fails."""


@dataclass(frozen=True)
class Sums:
    """Weighted sums behind one figure: sum of w over its count and over its base."""

    count_w: float
    base_w: float
    base_w2: float


@dataclass
class WaveResult:
    figures: list[Figure]
    sums: list[Sums | None]
    design_effect: float | None


Aggregates = dict[tuple[Any, ...], tuple[float, float, float]]


Progress = Callable[[int, str], None]


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


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def _normalized(text: str) -> str:
    return " ".join(text.casefold().split())


def _options(question: Question) -> list[Choice]:
    return [c for c in question.choices.all() if c.role == Choice.Role.OPTION]


def _rows(question: Question) -> list[Choice]:
    return [c for c in question.choices.all() if c.role == Choice.Role.ROW]


def _columns(question: Question) -> list[Choice]:
    return [c for c in question.choices.all() if c.role == Choice.Role.COLUMN]


def _published_questions(survey: Survey) -> list[Question]:
    return [q for q in survey.questions.all() if q.is_closed and not q.is_sensitive]


def _dimensions(questions: list[Question]) -> list[Question]:
    return [q for q in questions if q.is_dimension and q.kind in SEGMENT_KINDS]


def _collect(rows: Iterable[tuple[Any, ...]], width: int, weighted: bool) -> Aggregates:
    """Aggregate rows keyed by their first `width` columns: (n, sum w, sum w^2)."""
    found: Aggregates = {}
    for row in rows:
        n = float(row[width])
        if weighted:
            found[tuple(row[:width])] = (n, float(row[width + 1]), float(row[width + 2]))
        else:
            found[tuple(row[:width])] = (n, n, n)
    return found


def _add(*parts: tuple[float, float, float]) -> tuple[float, float, float]:
    return (sum(p[0] for p in parts), sum(p[1] for p in parts), sum(p[2] for p in parts))


ZERO = (0.0, 0.0, 0.0)


def _wave_weights(
    survey: Survey, questions: list[Question], targets: list[WeightingTarget], cap: int | None
) -> tuple[list[int], np.ndarray]:
    respondents = selectors.accepted_respondents(survey_id=survey.pk)
    ids = [pk for pk, _ in respondents]
    companies = [company for _, company in respondents]
    by_key = {q.key: q for q in questions if q.kind == Question.Kind.SINGLE}
    dimensions = sorted({t.dimension for t in targets if t.dimension in by_key})
    categories = np.full((len(ids), len(dimensions)), -1, dtype=np.int64)
    margins: list[dict[int, float]] = []
    for dimension in dimensions:
        codes = {c.key: c.pk for c in _options(by_key[dimension])}
        margins.append(
            {
                codes[t.segment]: t.share
                for t in targets
                if t.dimension == dimension and t.segment in codes
            }
        )
    if dimensions and ids:
        rows = np.array(
            selectors.respondent_choices(
                survey_id=survey.pk, question_ids=[by_key[d].pk for d in dimensions]
            ),
            dtype=np.int64,
        ).reshape(-1, 3)
        positions = np.searchsorted(np.array(ids, dtype=np.int64), rows[:, 0])
        column_of = {by_key[d].pk: i for i, d in enumerate(dimensions)}
        columns = np.array([column_of[q] for q in rows[:, 1]], dtype=np.int64)
        categories[positions, columns] = rows[:, 2]
    weights = weighting.respondent_weights(
        categories=categories, margins=margins, companies=companies, employer_cap=cap
    )
    return ids, weights


def _wave_figures(
    survey: Survey, *, targets: list[WeightingTarget], cap: int | None, weighted: bool
) -> WaveResult:
    """The wave's figures: every closed question overall and by each dimension."""
    questions = _published_questions(survey)
    dimensions = _dimensions(questions)
    label = survey.wave_label
    design_effect: float | None = None
    context: Any = nullcontext(None)
    if weighted:
        ids, weights = _wave_weights(survey, list(survey.questions.all()), targets, cap)
        if len(ids):
            n_eff = estimates.n_effective(float(weights.sum()), float((weights**2).sum()))
            design_effect = _round(estimates.design_effect(len(ids), n_eff))
        context = weighting.weight_table(ids, weights)
    ids_of = [q.pk for q in questions]
    multi_ids = [q.pk for q in questions if q.kind == Question.Kind.MULTI]
    dimension_ids = [q.pk for q in dimensions]
    by_key = {q.key: q for q in questions}
    migration = [
        q if q is not None and q.kind == Question.Kind.SINGLE else None
        for q in (by_key.get(key) for key in disclosure.MIGRATION_QUESTIONS)
    ]
    with context as table:
        kwargs = {"survey_id": survey.pk, "weight_table": table}
        counts = _collect(selectors.answer_counts(question_ids=ids_of, **kwargs), 3, weighted)
        bases = _collect(selectors.answer_bases(question_ids=multi_ids, **kwargs), 1, weighted)
        segment_counts = _collect(
            selectors.answer_counts_by_dimension(
                question_ids=ids_of, dimension_ids=dimension_ids, **kwargs
            ),
            5,
            weighted,
        )
        segment_bases = _collect(
            selectors.answer_bases_by_dimension(
                question_ids=multi_ids, dimension_ids=dimension_ids, **kwargs
            ),
            3,
            weighted,
        )
        pairs: Aggregates = {}
        if migration[0] is not None and migration[1] is not None:
            found = selectors.answer_pairs(
                first_id=migration[0].pk, second_id=migration[1].pk, **kwargs
            )
            pairs = _collect(found, 2, weighted)

    figures: list[Figure] = []
    sums: list[Sums | None] = []

    def emit(
        measure: str,
        question: str,
        choice: str,
        option: str,
        dimension: str,
        segment: str,
        count: tuple[float, float, float],
        base: tuple[float, float, float],
    ) -> None:
        figures.append(
            Figure(
                measure,
                label,
                question,
                choice,
                option,
                dimension,
                segment,
                int(base[0]),
                int(count[0]),
            )  # fmt: skip
        )
        sums.append(Sums(count[1], base[1], base[2]) if weighted else None)

    segments: list[tuple[Question | None, Choice | None]] = [(None, None)]
    segments += [(d, c) for d in dimensions for c in _options(d)]
    for question in questions:
        for dimension, segment in segments:
            if dimension is not None and dimension.pk == question.pk:
                continue

            if dimension is None or segment is None:
                source, prefix, names = counts, (question.pk,), ("", "")
            else:
                source = segment_counts
                prefix = (dimension.pk, segment.pk, question.pk)
                names = (dimension.key, segment.key)
            if question.kind == Question.Kind.MATRIX:
                columns = _columns(question)
                for row in _rows(question):
                    cells = [source.get((*prefix, row.pk, column.pk), ZERO) for column in columns]
                    base = _add(*cells)
                    for column, cell in zip(columns, cells, strict=True):
                        emit("share", question.key, row.key, column.key, *names, cell, base)
                    if question.key == disclosure.RETENTION_QUESTION and dimension is None:
                        by_column = dict(zip((c.key for c in columns), cells, strict=True))
                        still = _add(*(by_column.get(k, ZERO) for k in disclosure.STILL_USING))
                        ever = _add(still, by_column.get(disclosure.STOPPED, ZERO))
                        emit("retention", question.key, row.key, "", "", "", still, ever)
                continue
            options = _options(question)
            cells = [source.get((*prefix, choice.pk, None), ZERO) for choice in options]
            if question.kind == Question.Kind.MULTI:
                base = (bases if dimension is None else segment_bases).get(prefix, ZERO)
            else:
                base = _add(*cells)
            for choice, cell in zip(options, cells, strict=True):
                emit("share", question.key, choice.key, "", *names, cell, base)

    if migration[0] is not None and migration[1] is not None:
        switchers = _add(*pairs.values()) if pairs else ZERO
        for origin in _options(migration[0]):
            for target in _options(migration[1]):
                cell = pairs.get((origin.pk, target.pk), ZERO)
                emit(
                    "migration",
                    disclosure.MIGRATION,
                    origin.key,
                    target.key,
                    "",
                    "",
                    cell,
                    switchers,
                )
    return WaveResult(figures, sums, design_effect)


def _context(waves: list[Survey]) -> Context:
    kinds: dict[str, str] = {}
    dimension_kinds: dict[str, str] = {}
    for survey in waves:  # the latest wave's kind wins
        for question in survey.questions.all():
            kinds[question.key] = question.kind
            if question.is_dimension and question.kind in SEGMENT_KINDS:
                dimension_kinds[question.key] = question.kind
    return Context(kinds=kinds, dimension_kinds=dimension_kinds)


def _estimate(shown: Figure, sums: Sums | None) -> Cell:
    cell = Cell(
        measure=shown.measure,
        wave=shown.wave,
        question=shown.question,
        choice=shown.choice,
        option=shown.option,
        dimension=shown.dimension,
        segment=shown.segment,
        base_n=shown.base_n,
        count=shown.count,
        flag=shown.flag,
    )
    if shown.count is None or not shown.base_n:
        return cell
    n_eff = float(shown.base_n)
    if sums is not None and sums.base_w > 0:
        n_eff = estimates.n_effective(sums.base_w, sums.base_w2)
    cell.n_eff = _round(n_eff)
    if n_eff < disclosure.N_EFF_MIN:
        cell.flag = disclosure.LOW_N_EFF
        return cell
    cell.share = _round(shown.count / shown.base_n)
    if sums is not None and sums.base_w > 0:
        cell.share_weighted = _round(min(1.0, sums.count_w / sums.base_w))
        cell.design_effect = _round(estimates.design_effect(shown.base_n, n_eff))
    return cell


def _intervals(cells: list[Cell]) -> None:
    """Wilson intervals for every shown share, computed in one vectorized pass."""
    shown = [c for c in cells if c.share is not None and c.count is not None and c.base_n]
    lows, highs = estimates.wilson_many([c.count for c in shown], [c.base_n for c in shown])
    for cell, low, high in zip(shown, lows, highs, strict=True):
        cell.ci_low, cell.ci_high = _round(low), _round(high)
    weighted = [c for c in shown if c.share_weighted is not None and c.n_eff]
    lows, highs = estimates.wilson_many(
        [c.share_weighted * c.n_eff for c in weighted], [c.n_eff for c in weighted]
    )
    for cell, low, high in zip(weighted, lows, highs, strict=True):
        cell.ci_low_weighted, cell.ci_high_weighted = _round(low), _round(high)


def _change_cells(cells: list[Cell], waves: list[Survey]) -> list[Cell]:
    """Changes between consecutive waves that asked the question; wording changes break."""
    texts: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for survey in waves:
        for question in _published_questions(survey):
            texts[question.key].append((survey.wave_label, _normalized(question.text)))
    overall = {
        (c.wave, c.question, c.choice, c.option): c
        for c in cells
        if c.measure == "share" and not c.dimension
    }
    keys_by_wave: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for wave, question, choice, option in overall:
        keys_by_wave[(wave, question)].append((choice, option))
    changes: list[Cell] = []
    for question, asked in texts.items():
        for (before, before_text), (after, after_text) in zip(asked, asked[1:], strict=False):
            earlier_keys = set(keys_by_wave.get((before, question), []))
            for choice, option in keys_by_wave.get((after, question), []):
                if (choice, option) not in earlier_keys:
                    continue
                later = overall[(after, question, choice, option)]
                earlier = overall[(before, question, choice, option)]
                change = Cell(
                    measure="change",
                    wave=after,
                    compare_wave=before,
                    question=question,
                    choice=choice,
                    option=option,
                )
                if before_text != after_text:
                    change.flag = disclosure.WORDING_BREAK
                elif later.share is None or earlier.share is None:
                    change.flag = later.flag or earlier.flag
                else:
                    _fill_change(change, later, earlier)
                changes.append(change)
    return changes


def _fill_change(change: Cell, later: Cell, earlier: Cell) -> None:
    assert later.count is not None and later.base_n and earlier.count is not None
    assert earlier.base_n
    diff, (low, high) = estimates.newcombe(later.count, later.base_n, earlier.count, earlier.base_n)
    change.share, change.ci_low, change.ci_high = _round(diff), _round(low), _round(high)
    if estimates.crosses_zero((low, high)):
        change.flag = disclosure.NO_DETECTABLE_CHANGE
    if later.share_weighted is not None and earlier.share_weighted is not None:
        assert later.n_eff and earlier.n_eff
        diff_w, (low_w, high_w) = estimates.newcombe_weighted(
            later.share_weighted, later.n_eff, earlier.share_weighted, earlier.n_eff
        )
        change.share_weighted = _round(diff_w)
        change.ci_low_weighted, change.ci_high_weighted = _round(low_w), _round(high_w)


def _people(counts: dict[str, int], k: int, total: int, other: str) -> dict[str, int | None]:
    """Counts of people in a summary: names of small groups are pooled, small counts hidden."""
    pooled: dict[str, int] = {}
    for key, n in counts.items():
        name = key if n >= k else other
        pooled[name] = pooled.get(name, 0) + n
    return disclosure.protect_counts(pooled, k, total=total)


def _summary(
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
                "exclusions": _people(dict(reasons), k, n_excluded, "other reasons"),
                "channels": _people(dict(channels), k, n, "other channels"),
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
            "targets": [_target(t) for t in targets] if weighted else [],
            "trim": list(weighting.TRIM),
            "employer_cap": series.employer_cap,
            "design_effect": {label: d for label, d in design_effects.items() if d is not None},
        },
    }


def _target(target: WeightingTarget) -> dict[str, Any]:
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
            choices = _rows(question) if matrix else _options(question)
            entry["waves"][survey.wave_label] = {
                "text": question.text,
                "choices": [[c.key, c.label] for c in choices] if published else [],
                "columns": [[c.key, c.label] for c in _columns(question)] if published else [],
            }
    return list(found.values())


def _breaks(waves: list[Survey]) -> list[dict[str, str]]:
    seen: dict[str, tuple[str, str]] = {}
    breaks = []
    for survey in waves:
        for question in _published_questions(survey):
            text = _normalized(question.text)
            previous = seen.get(question.key)
            if previous is not None and previous[1] != text:
                breaks.append(
                    {
                        "question": question.key,
                        "wave": survey.wave_label,
                        "previous_wave": previous[0],
                    }
                )
            seen[question.key] = (survey.wave_label, text)
    return breaks


def _digest(record: dict[str, Any]) -> str:
    encoded = json.dumps(record, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def snapshot_build(
    *, series_id: int, job_id: int | None = None, progress: Progress | None = None
) -> Snapshot:
    """Build a new snapshot of a series (status ready, not yet published).

    Progress goes to the job row (percent, message, heartbeat) and to `progress` if given.
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
            "targets": [_target(t) for t in targets] if weighted else [],
            "trim": list(weighting.TRIM),
            "employer_cap": series.employer_cap if weighted else None,
        },
    }
    figures: list[Figure] = []
    sums: list[Sums | None] = []
    design_effects: dict[str, float | None] = {}
    for index, survey in enumerate(waves):
        report_progress(5 + 65 * index // max(1, len(waves)), f"Counting {survey.wave_label}")
        result = _wave_figures(survey, targets=targets, cap=series.employer_cap, weighted=weighted)
        figures += result.figures
        sums += result.sums
        design_effects[survey.wave_label] = result.design_effect
    report_progress(75, "Protecting small groups")
    protected = disclosure.protect(figures, _context(waves), k)
    cells = [_estimate(shown, s) for shown, s in zip(protected, sums, strict=True)]
    _intervals(cells)
    cells += _change_cells(cells, waves)
    summary = _summary(series, waves, k, weighted, targets, design_effects)
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
        for cell in cells:
            cell.snapshot = snapshot
        Cell.objects.bulk_create(cells, batch_size=2000)
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


def snapshot_publish(*, snapshot_id: int, user: Any = None) -> Snapshot:
    """Publish a ready snapshot whose audit passes, re-run now on its stored cells."""
    with transaction.atomic():
        snapshot = Snapshot.objects.select_for_update().get(pk=snapshot_id)
        if snapshot.status != Snapshot.Status.READY:
            raise SnapshotNotPublishableError(f"{snapshot} is {snapshot.status}, not ready.")
        if snapshot.published_at is not None:
            return snapshot
        report = disclosure.audit(snapshot)
        if report["passed"]:
            snapshot.published_at = timezone.now()
            snapshot.published_by = user if getattr(user, "pk", None) else None
            snapshot.save(update_fields=["published_at", "published_by"])
        else:
            snapshot.audit_passed = False
            snapshot.audit_report = report
            snapshot.save(update_fields=["audit_passed", "audit_report"])
    if not report["passed"]:
        raise SnapshotNotPublishableError(
            f"{snapshot} fails the disclosure audit: {report['violation_count']} problem(s)."
        )
    logger.info("Published %s", snapshot)
    return snapshot


def job_claim(*, job_id: int) -> RebuildJob | None:
    """Take a queued job for this worker; None if it is gone, done or taken."""
    with transaction.atomic():
        job = (
            RebuildJob.objects.select_for_update(skip_locked=True)
            .select_related("series")
            .filter(pk=job_id, status=RebuildJob.Status.QUEUED)
            .first()
        )
        if job is None:
            return None
        now = timezone.now()
        job.status = RebuildJob.Status.RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = now
        job.progress, job.message = 0, "Started"
        job.save(
            update_fields=[
                "status",
                "attempts",
                "started_at",
                "heartbeat_at",
                "progress",
                "message",
            ]
        )
    return job


def job_run(*, job: RebuildJob) -> Snapshot | None:
    """Build the job's series, publish if asked (and the audit passes), close the job.

    Transient database errors put the job back in the queue and propagate, for the task to
    retry; any other failure marks the job failed and leaves the published snapshot alone.
    """
    try:
        snapshot = snapshot_build(series_id=job.series_id, job_id=job.pk)
    except TRANSIENT_ERRORS:
        RebuildJob.objects.filter(pk=job.pk, status=RebuildJob.Status.RUNNING).update(
            status=RebuildJob.Status.QUEUED, message="Database unavailable: retrying"
        )
        raise
    except Exception as error:
        logger.exception("Rebuild job %s failed", job.pk)
        RebuildJob.objects.filter(pk=job.pk).update(
            status=RebuildJob.Status.FAILED,
            message=f"Failed: {error}"[:300],
            finished_at=timezone.now(),
        )
        return None
    job.refresh_from_db(fields=["publish"])
    verdict = "passed" if snapshot.audit_passed else "FAILED"
    message = f"Built {snapshot.cells.count()} cells; audit {verdict}"
    if (job.publish or job.series.auto_publish) and snapshot.audit_passed:
        try:
            snapshot_publish(snapshot_id=snapshot.pk, user=job.requested_by)
            message += "; published"
        except SnapshotNotPublishableError as error:
            message += f"; not published: {error}"
    RebuildJob.objects.filter(pk=job.pk).update(
        status=RebuildJob.Status.DONE,
        progress=100,
        message=message[:300],
        snapshot=snapshot,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    return snapshot


def rebuild_refresh(*, stale_after: timedelta | None = None) -> list[RebuildJob]:
    """Queue rebuilds of changed series, and requeue jobs whose worker stopped answering."""
    stale_after = stale_after or timedelta(
        seconds=getattr(settings, "TALLY_JOB_STALE_SECONDS", STALE_JOB_SECONDS)
    )
    cutoff = timezone.now() - stale_after
    jobs: list[RebuildJob] = []
    abandoned = RebuildJob.objects.filter(
        Q(status=RebuildJob.Status.RUNNING)
        & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
        # A queued job whose message was lost (broker restarted) is sent again: claims are
        # idempotent, so a duplicate message finds nothing to do.
        | Q(status=RebuildJob.Status.QUEUED, created_at__lt=cutoff)
    )
    for pk in abandoned.values_list("pk", flat=True):
        with transaction.atomic():
            job = RebuildJob.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if job is None or job.status not in (
                RebuildJob.Status.QUEUED,
                RebuildJob.Status.RUNNING,
            ):
                continue
            if job.status == RebuildJob.Status.RUNNING:
                job.status = RebuildJob.Status.QUEUED
                job.message = "Requeued: its worker stopped reporting progress"
                job.save(update_fields=["status", "message"])
            _queue(job.pk)
            jobs.append(job)
    taxonomy = selectors.taxonomy_version_applied()
    for series in stale_series(taxonomy=taxonomy):
        recently_failed = RebuildJob.objects.filter(
            series=series, status=RebuildJob.Status.FAILED, finished_at__gte=cutoff
        ).exists()
        if not recently_failed:  # a build that keeps failing is retried every few minutes
            jobs.append(rebuild_request(series_id=series.pk))
    return jobs


def _queue(job_id: int) -> None:
    from .tasks import rebuild  # tasks import services: import here to keep that direction

    transaction.on_commit(lambda: rebuild.delay(job_id=job_id))


def rebuild_request(*, series_id: int, publish: bool = False, user: Any = None) -> RebuildJob:
    """Queue a rebuild of a series (or return the one already queued or running)."""
    try:
        with transaction.atomic():
            job = RebuildJob.objects.create(
                series_id=series_id,
                publish=publish,
                requested_by=user if getattr(user, "pk", None) else None,
            )
    except IntegrityError:
        job = RebuildJob.objects.get(series_id=series_id, status__in=["queued", "running"])
        if publish and not job.publish:
            RebuildJob.objects.filter(pk=job.pk).update(publish=True)
            job.publish = True
        return job
    _queue(job.pk)
    return job


def stale_series(*, taxonomy: int | None = None) -> list[Series]:
    """Series whose accepted responses (or taxonomy) changed since their latest snapshot."""
    found = []
    for series in selectors.series_with_accepted_responses():
        latest = (
            Snapshot.objects.filter(series=series, status=Snapshot.Status.READY)
            .order_by("-created_at", "-pk")
            .first()
        )
        state = selectors.accepted_state(series_id=series.pk)
        if (
            latest is None
            or (
                state["watermark"]
                and (not latest.watermark or state["watermark"] > latest.watermark)
            )
            or state["count"] != latest.response_count
            or taxonomy != latest.taxonomy_version
        ):
            found.append(series)
    return found
