"""A poll's published standing: its cells in the latest published snapshot of its series."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from survey.models import Question, Survey

from ..models import Cell, Snapshot
from .cells import CELL_FIELDS, cell_public, flag_mark, flag_meaning, published_snapshot


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
    # The trend across rounds: per choice, each round's share and interval, and the change
    # since the round before with its Newcombe interval (empty with a single round).
    trend: list[dict[str, Any]] = field(default_factory=list)
    # What the trend's short marks mean, each once: (mark, meaning), in order of appearance.
    trend_notes: list[tuple[str, str]] = field(default_factory=list)


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
    trend = _trend(snapshot, question, rounds, labels) if len(rounds) > 1 else []
    return PollResults(
        snapshot=snapshot,
        current=current,
        rounds=rounds,
        trend=trend,
        trend_notes=_notes(trend),
    )


def _points(value: float) -> str:
    return f"{value * 100:+.1f}"


def _trend(
    snapshot: Snapshot, question: Question, rounds: list[Standing], labels: dict[str, str]
) -> list[dict[str, Any]]:
    """One row per choice: its share in each round, then the latest change."""
    latest = rounds[-1].wave
    changes = {
        cell["choice"]: cell
        for cell in (
            cell_public(dict(zip(CELL_FIELDS, row, strict=True)))
            for row in Cell.objects.filter(
                snapshot=snapshot,
                measure=Cell.Measure.CHANGE,
                question=question.key,
                dimension="",
                wave=latest,
            ).values_list(*CELL_FIELDS)
        )
    }
    # A cell is {"text": ...} when shown, {"flag": ..., "mark": ...} when withheld, {} when
    # the round has no cell for the choice: a table row stays one line high at 390 px.
    found: dict[str, dict[str, Any]] = {}
    for index, standing in enumerate(rounds):
        for row in standing.rows:
            entry = found.setdefault(
                row["choice"], {"label": row["label"], "cells": [{} for _ in rounds]}
            )
            if row["percent"]:
                entry["cells"][index] = {"text": f"{row['percent']}% ({row['ci_text'] or '–'})"}
            elif row["flag"]:
                entry["cells"][index] = _withheld(row["flag"])
    for choice, entry in found.items():
        change = changes.get(choice)
        cell: dict[str, str] = {}
        if change is not None and change["share"] is not None:
            text = f"{_points(change['share'])} pts"
            if change["ci_low"] is not None and change["ci_high"] is not None:
                text += f" ({_points(change['ci_low'])} to {_points(change['ci_high'])})"
            if change["flag"] == "no-detectable-change":
                text += ", no detectable change"
            cell = {"text": text}
        elif change is not None and change["flag"]:
            cell = _withheld(change["flag"])
        entry["change"] = cell
        entry["compare"] = change["compare_wave"] if change is not None else ""
    return list(found.values())


def _withheld(flag: str) -> dict[str, str]:
    return {"flag": flag, "mark": flag_mark(flag), "meaning": flag_meaning(flag)}


def _notes(trend: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each withheld cell's mark with its meaning, once (two flags may share a mark)."""
    notes: dict[str, list[str]] = {}
    for entry in trend:
        for cell in [*entry["cells"], entry["change"]]:
            if "flag" in cell and cell["meaning"] not in notes.setdefault(cell["mark"], []):
                notes[cell["mark"]].append(cell["meaning"])
    return [(mark, " ".join(meanings)) for mark, meanings in notes.items()]
