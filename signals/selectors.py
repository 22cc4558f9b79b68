"""Reads: sources, their figures per framework over time, and tidy rows for downloads.

Figures of labels that map to one framework combine within a period and scope: summed where
the source says they add up (downloads), else the largest (developers pushing to repositories
of two topics may be the same people, so the largest is a floor of the union). Scopes
(economies, venues) are then summed, leaving out aggregates such as `EU`. A framework with no
published figure in a period is missing (None), never zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import QuerySet

from survey.importers.regions import region_of
from survey.models import Entity

from .importers.github import AGGREGATES, ECONOMIES
from .models import Break, Source, Value

SIGNAL_COLUMNS = [
    "source",
    "source_name",
    "unit",
    "period",
    "period_start",
    "period_end",
    "scope_kind",
    "scope",
    "label",
    "entity",
    "value",
    "missing",
    "break",
    "licence",
    "attribution",
    "url",
]
SIGNAL_COLUMN_MEANINGS = {
    "source": "The source's key.",
    "source_name": "The source's name.",
    "unit": "What one figure counts.",
    "period": "The period as the source names it.",
    "period_start": "First day the figure covers.",
    "period_end": "Last day the figure covers.",
    "scope_kind": "What a scope is (economy, venue); empty if the source has none.",
    "scope": "Economy (ISO 3166 code; EU is an aggregate) or venue; empty: the whole source.",
    "label": "The package, topic or column as the source spells it.",
    "entity": "The framework taxonomy key the label maps to; empty if it names none.",
    "value": "The published figure; empty when missing.",
    "missing": "Why the figure is missing (never zero); empty when published.",
    "break": "Breaks in the source that this figure is on or just after.",
    "licence": "The source's licence or terms.",
    "attribution": "How to credit the source.",
    "url": "Where the source lives.",
}


def signal_sources() -> QuerySet[Source]:
    return Source.objects.prefetch_related("breaks").order_by("key")


def signal_source(key: str) -> Source | None:
    return signal_sources().filter(key=key).first()


def signals_version() -> str:
    """Changes whenever any source is re-imported from a different file."""
    digests = Source.objects.order_by("key").values_list("key", "file_sha256")
    return "-".join(f"{key}:{digest[:8]}" for key, digest in digests)


@dataclass
class Point:
    """One framework figure per entity for a period (or a year of pooled periods)."""

    period: str
    start: date
    end: date
    values: dict[str, int | None]
    # Entities whose figure leaves out some scope that was missing (under a threshold).
    partial: set[str] = field(default_factory=set)

    @property
    def middle(self) -> date:
        return date.fromordinal((self.start.toordinal() + self.end.toordinal()) // 2)


def _combine(values: list[int], additive: bool) -> int:
    return sum(values) if additive else max(values)


def _values(source: Source, entities: list[str], scopes: Iterable[str] | None) -> Any:
    values = Value.objects.filter(source=source, entity_key__in=entities).exclude(
        scope__in=AGGREGATES
    )
    if scopes is not None:
        values = values.filter(scope__in=list(scopes))
    return values.values_list(
        "period", "period_start", "period_end", "scope", "entity_key", "value"
    ).iterator()


def _points(rows: Iterable[tuple], entities: list[str], additive: bool, yearly: bool) -> list:
    # (group, scope, period) -> entity -> published figures of its labels.
    cells: dict[tuple[str, str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    spans: dict[str, tuple[date, date]] = {}
    for period, start, end, scope, entity, value in rows:
        group = str(start.year) if yearly else period
        if yearly:
            start, end = date(start.year, 1, 1), date(start.year, 12, 31)
        low, high = spans.get(group, (start, end))
        spans[group] = (min(low, start), max(high, end))
        figures = cells[(group, scope, period)][entity]
        if value is not None:
            figures.append(value)
    totals: dict[str, dict[str, int | None]] = defaultdict(dict)
    partial: dict[str, set[str]] = defaultdict(set)
    for (group, _scope, _period), by_entity in cells.items():
        for entity, figures in by_entity.items():
            if not figures:
                partial[group].add(entity)
                totals[group].setdefault(entity, None)
                continue
            total = totals[group].get(entity) or 0
            totals[group][entity] = total + _combine(figures, additive)
    points = []
    for group, (start, end) in sorted(spans.items(), key=lambda item: (item[1][1], item[0])):
        shares = {entity: totals[group].get(entity) for entity in entities}
        shown = {e for e, v in shares.items() if v is not None}
        points.append(Point(group, start, end, shares, partial[group] & shown))
    return points


def entity_points(
    source: Source,
    entities: Iterable[str],
    *,
    scopes: Iterable[str] | None = None,
    yearly: bool = False,
) -> list[Point]:
    """Each entity's figure per period, scopes summed; `yearly` pools a year's periods."""
    entities = list(entities)
    rows = _values(source, entities, scopes)
    return _points(rows, entities, source.additive, yearly)


def entity_points_by_scope(
    source: Source, entities: Iterable[str], scopes: Iterable[str]
) -> dict[str, list[Point]]:
    """`entity_points` for each scope on its own, in one query."""
    entities = list(entities)
    by_scope: dict[str, list[tuple]] = defaultdict(list)
    for row in _values(source, entities, scopes):
        by_scope[row[3]].append(row)
    return {
        scope: _points(rows, entities, source.additive, yearly=False)
        for scope, rows in by_scope.items()
    }


def break_labels(breaks: Iterable[Break], periods: Iterable[tuple[str, date, date]]) -> dict:
    """period -> labels of the breaks it ends in (a stretch) or is the first after (a point)."""
    labels: dict[str, list[str]] = defaultdict(list)
    ordered = sorted(set(periods), key=lambda p: (p[2], p[0]))
    for item in breaks:
        if item.end is not None:
            for period, _start, end in ordered:
                if item.start <= end <= item.end:
                    labels[period].append(item.label)
            continue
        after = next((p for p in ordered if p[2] >= item.start), None)
        if after is not None:
            labels[after[0]].append(item.label)
    return labels


def signal_rows(source: Source) -> Iterator[list[Any]]:
    """The tidy rows of a source's CSV, with its provenance on every row."""
    values = Value.objects.filter(source=source).order_by("period_end", "period", "scope", "label")
    periods = values.values_list("period", "period_start", "period_end").distinct()
    breaks = break_labels(source.breaks.all(), periods)
    for value in values.iterator(chunk_size=2000):
        record = {
            "source": source.key,
            "source_name": source.name,
            "unit": source.unit,
            "period": value.period,
            "period_start": value.period_start.isoformat(),
            "period_end": value.period_end.isoformat(),
            "scope_kind": source.scope_kind,
            "scope": value.scope,
            "label": value.label,
            "entity": value.entity_key,
            "value": value.value,
            "missing": value.missing,
            "break": "; ".join(breaks.get(value.period, [])),
            "licence": source.licence,
            "attribution": source.attribution,
            "url": source.url,
        }
        yield [record[name] for name in SIGNAL_COLUMNS]


def economy_regions() -> dict[str, str]:
    """Economy code -> the survey's region key, for economies that have one (not `EU`)."""
    regions = {}
    for code, name in ECONOMIES.items():
        region = region_of(name)
        if region is not None and code not in AGGREGATES:
            regions[code] = region
    return regions


def framework_names(keys: Iterable[str]) -> dict[str, str]:
    """Taxonomy names of framework keys; a key the taxonomy lacks names itself."""
    keys = list(keys)
    found = dict(Entity.objects.filter(kind="framework", key__in=keys).values_list("key", "name"))
    return {key: found.get(key, key) for key in keys}
