"""Cells from protected figures: shares, Wilson intervals, and changes between waves."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from operator import attrgetter

from survey.importers.copy import rows_copy
from survey.models import Survey

from .. import disclosure, estimates
from ..disclosure import Figure
from ..models import Cell
from .structure import normalized_text, published_questions

DIGITS = 10  # stored floats are rounded so that rebuilds compare equal


@dataclass(frozen=True)
class Sums:
    """Weighted sums behind one figure: sum of w over its count and over its base."""

    count_w: float
    base_w: float
    base_w2: float


@dataclass(slots=True)
class CellValues:
    """A cell's values before it is written: a Cell row without the model's overhead."""

    measure: str = Cell.Measure.SHARE.value
    wave: str = ""
    compare_wave: str = ""
    question: str = ""
    choice: str = ""
    option: str = ""
    dimension: str = ""
    segment: str = ""
    base_n: int | None = None
    count: int | None = None
    share: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    share_weighted: float | None = None
    ci_low_weighted: float | None = None
    ci_high_weighted: float | None = None
    n_eff: float | None = None
    design_effect: float | None = None
    flag: str = ""
    reason: str = ""  # why a value is hidden: for admins, never public


CELL_COLUMNS = tuple(f.name for f in fields(CellValues))


def cells_write(*, snapshot_id: int, cells: list[CellValues]) -> None:
    """Insert the cells in order (ids follow it): COPY on PostgreSQL, executemany elsewhere."""
    values = attrgetter(*CELL_COLUMNS)
    rows_copy(
        table=Cell._meta.db_table,
        columns=("snapshot_id", *CELL_COLUMNS),
        rows=[(snapshot_id, *values(cell)) for cell in cells],
    )


def rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def cell_estimate(shown: Figure, sums: Sums | None, weighted_shown: bool = True) -> CellValues:
    cell = CellValues(
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
        reason=shown.reason,
    )
    if shown.base_n == 0 and shown.count is not None and not cell.flag:
        cell.flag = disclosure.NO_ANSWERS
    if shown.count is None or not shown.base_n:
        return cell
    n_eff = float(shown.base_n)
    if sums is not None and sums.base_w > 0:
        n_eff = estimates.n_effective(sums.base_w, sums.base_w2)
    cell.n_eff = rounded(n_eff)
    if not disclosure.share_shown(n_eff):
        cell.flag = disclosure.LOW_N_EFF
        return cell
    cell.share = rounded(shown.count / shown.base_n)
    if sums is not None and sums.base_w > 0 and weighted_shown:
        cell.share_weighted = rounded(min(1.0, sums.count_w / sums.base_w))
        cell.design_effect = rounded(estimates.design_effect(shown.base_n, n_eff))
    return cell


def cells_intervals(cells: list[CellValues]) -> None:
    """Wilson intervals for every shown share, computed in one vectorized pass."""
    shown = [c for c in cells if c.share is not None and c.count is not None and c.base_n]
    lows, highs = estimates.wilson_many(
        [float(c.count or 0) for c in shown], [float(c.base_n or 0) for c in shown]
    )
    for cell, low, high in zip(shown, lows, highs, strict=True):
        cell.ci_low, cell.ci_high = rounded(low), rounded(high)
    weighted = [c for c in shown if c.share_weighted is not None and c.n_eff]
    lows, highs = estimates.wilson_many(
        [(c.share_weighted or 0.0) * (c.n_eff or 0.0) for c in weighted],
        [c.n_eff or 0.0 for c in weighted],
    )
    for cell, low, high in zip(weighted, lows, highs, strict=True):
        cell.ci_low_weighted, cell.ci_high_weighted = rounded(low), rounded(high)


def change_cells(cells: list[CellValues], waves: list[Survey]) -> list[CellValues]:
    """Changes between consecutive waves that asked the question.

    A change in wording or in who was asked (the question's universe) breaks the series:
    the change cell carries the break's flag and no value, never a detectable change.
    """
    texts: dict[str, list[tuple[str, tuple[str, str]]]] = defaultdict(list)
    for survey in waves:
        for shown in published_questions(survey):
            wording = (normalized_text(shown.text), normalized_text(shown.universe))
            texts[shown.key].append((survey.wave_label, wording))
    overall = {
        (c.wave, c.question, c.choice, c.option): c
        for c in cells
        if c.measure == "share" and not c.dimension
    }
    keys_by_wave: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for wave, question, choice, option in overall:
        keys_by_wave[(wave, question)].append((choice, option))
    changes: list[CellValues] = []
    for question, asked in texts.items():
        for (before, before_text), (after, after_text) in zip(asked, asked[1:], strict=False):
            earlier_keys = set(keys_by_wave.get((before, question), []))
            for choice, option in keys_by_wave.get((after, question), []):
                if (choice, option) not in earlier_keys:
                    continue
                later = overall[(after, question, choice, option)]
                earlier = overall[(before, question, choice, option)]
                change = CellValues(
                    measure="change",
                    wave=after,
                    compare_wave=before,
                    question=question,
                    choice=choice,
                    option=option,
                )
                if before_text[0] != after_text[0]:
                    change.flag = disclosure.WORDING_BREAK
                elif before_text[1] != after_text[1]:
                    change.flag = disclosure.UNIVERSE_BREAK
                elif later.share is None or earlier.share is None:
                    change.flag = later.flag or earlier.flag
                else:
                    _fill_change(change, later, earlier)
                changes.append(change)
    return changes


def _fill_change(change: CellValues, later: CellValues, earlier: CellValues) -> None:
    assert later.count is not None and later.base_n and earlier.count is not None
    assert earlier.base_n
    diff, (low, high) = estimates.newcombe(later.count, later.base_n, earlier.count, earlier.base_n)
    change.share, change.ci_low, change.ci_high = rounded(diff), rounded(low), rounded(high)
    if estimates.crosses_zero((low, high)):
        change.flag = disclosure.NO_DETECTABLE_CHANGE
    if later.share_weighted is not None and earlier.share_weighted is not None:
        assert later.n_eff and earlier.n_eff
        diff_w, (low_w, high_w) = estimates.newcombe_weighted(
            later.share_weighted, later.n_eff, earlier.share_weighted, earlier.n_eff
        )
        change.share_weighted = rounded(diff_w)
        change.ci_low_weighted, change.ci_high_weighted = rounded(low_w), rounded(high_w)
