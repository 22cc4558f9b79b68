"""A poll's published standing: its cells in the latest published snapshot of its series."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from survey.models import Question, Survey

from ..models import Cell, Snapshot
from .cells import CELL_FIELDS, cell_public, flag_meaning, published_snapshot


@dataclass
class Standing:
    """One round's published shares, one row per choice (values None where withheld)."""

    wave: str
    rows: list[dict[str, Any]]
    n: int | None


@dataclass
class PollResults:
    snapshot: Snapshot | None
    current: Standing | None
    rounds: list[Standing] = field(default_factory=list)  # every round, in wave order


def _standing(wave: str, cells: list[dict[str, Any]], labels: dict[str, str]) -> Standing:
    rows = []
    for cell in cells:
        shown = cell["share"] is not None
        interval = cell["ci_low"] is not None and cell["ci_high"] is not None
        rows.append(
            {
                **cell,
                "label": labels.get(cell["choice"], cell["choice"]),
                "meaning": flag_meaning(cell["flag"]) if cell["flag"] else "",
                "percent": f"{cell['share'] * 100:.1f}" if shown else "",
                "ci_text": (
                    f"{cell['ci_low'] * 100:.1f}–{cell['ci_high'] * 100:.1f}%" if interval else ""
                ),
            }
        )
    bases = [c["base_n"] for c in cells if c["base_n"] is not None]
    return Standing(wave=wave, rows=rows, n=bases[0] if bases else None)


def poll_results(poll: Survey, question: Question) -> PollResults:
    """The poll's round and its series' other rounds, from the latest published snapshot."""
    snapshot = published_snapshot(poll.series.slug)
    if snapshot is None:
        return PollResults(snapshot=None, current=None)
    labels = {c.key: c.label for c in question.choices.all()}
    values = (
        Cell.objects.filter(
            snapshot=snapshot, measure=Cell.Measure.SHARE, question=question.key, dimension=""
        )
        .order_by("wave", "pk")
        .values_list(*CELL_FIELDS)
    )
    by_wave: dict[str, list[dict[str, Any]]] = {}
    for row in values:
        cell = cell_public(dict(zip(CELL_FIELDS, row, strict=True)))
        by_wave.setdefault(cell["wave"], []).append(cell)
    rounds = [_standing(wave, cells, labels) for wave, cells in by_wave.items()]
    current = next((r for r in rounds if r.wave == poll.wave_label), None)
    return PollResults(snapshot=snapshot, current=current, rounds=rounds)
