"""Where a line of the comparison may be read: stretches between breaks, directions within.

A stretch is a run of consecutive points of one line with no break between them (a change in
how the source counts, in the survey question's wording or in who was asked it) and with the
same compared frameworks at every point, so every share in it has the same denominator. A
direction is read between a stretch's first and last point only, never across two stretches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from datetime import date
from typing import Any, Protocol

SURVEY = "survey"
# A change in share smaller than this between a stretch's first and last year reads as flat.
FLAT = 0.05
# A signal's stretch shorter than this says nothing about a direction (a few weeks of PyPI).
SHORTEST_DAYS = 365


class BreakLike(Protocol):
    start: date
    end: date | None


def stretch_numbers(keys: Iterable[Hashable]) -> list[int]:
    """Number consecutive runs of equal keys: 0, 0, 1, 1, 1, 2..."""
    numbers: list[int] = []
    previous: Hashable = object()
    for key in keys:
        numbers.append((numbers[-1] + (key != previous)) if numbers else 0)
        previous = key
    return numbers


def break_side(breaks: Iterable[BreakLike], end: date) -> tuple[int, ...]:
    """Which side of each break a period ending on `end` lies: a point break has a before and
    an after; a stretch of incomparable figures a before, a within and an after."""
    sides = []
    for item in breaks:
        if item.end is None:
            sides.append(int(end >= item.start))
        else:
            sides.append(0 if end < item.start else 1 if end <= item.end else 2)
    return tuple(sides)


def _direction(rows: list[dict]) -> tuple[str, str] | None:
    """'rising' / 'falling' / 'flat' between a stretch's first and last year, and the years."""
    if len(rows) < 2:
        return None
    dates = sorted(date.fromisoformat(row["date"]) for row in rows)
    if (dates[-1] - dates[0]).days < SHORTEST_DAYS:
        return None
    years: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        years[int(row["date"][:4])].append(row["share"])
    first, last = min(years), max(years)
    change = sum(years[last]) / len(years[last]) - sum(years[first]) / len(years[first])
    word = "rising" if change > FLAT else "falling" if change < -FLAT else "flat"
    return word, f"{first}–{last}"


def _survey_direction(rows: list[dict]) -> tuple[str, str] | None:
    ordered = sorted(rows, key=lambda row: row["date"])
    if len(ordered) < 2:
        return None
    first, last = ordered[0], ordered[-1]
    if None in (first["ci_low"], first["ci_high"], last["ci_low"], last["ci_high"]):
        return None
    span = f"{first['period']}–{last['period']}"
    if last["ci_low"] > first["ci_high"]:
        return "rising", span
    if last["ci_high"] < first["ci_low"]:
        return "falling", span
    return "no clear change", span


def conclusions(rows: list[dict[str, Any]], focus: list[str], labels: dict[str, str]) -> list[str]:
    """One sentence per framework, claiming only what every stretch that covers it shows."""
    names = {row["source"]: row["line"].split(":")[0] for row in rows}
    sentences = []
    for key in focus:
        found: list[tuple[str, str, str]] = []  # (source, word, span)
        stretches: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for row in rows:
            if row["framework"] == key and row["share"] is not None:
                stretches[(row["source"], str(row.get("stretch", "")))].append(row)
        for (source, _stretch), mine in stretches.items():
            result = _survey_direction(mine) if source == SURVEY else _direction(mine)
            if result is not None:
                found.append((source, *result))
        if not found:
            continue
        words = {word for _s, word, _span in found}
        listed = ", ".join(f"{names[s]} {span}" for s, _w, span in found)
        lines = len({source for source, _w, _span in found})
        if len(words) == 1 and len(found) > 1:
            counted = (
                f"all {lines} lines that cover it"
                if lines == len(found)
                else f"all {len(found)} stretches of the {lines} lines that cover it"
            )
            sentences.append(
                f"{labels[key]}: {words.pop()} in {counted}, none read across a break ({listed})."
            )
        else:
            parts = "; ".join(f"{names[s]} {w} ({span})" for s, w, span in found)
            sentences.append(f"{labels[key]}: the lines do not agree: {parts}.")
    return sentences
