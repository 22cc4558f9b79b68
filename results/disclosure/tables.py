"""Tables of linked counts: figures, the sums that relate them, and how they are built."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .flags import (
    MIGRATION,
    MIGRATION_QUESTIONS,
    RETENTION,
    SHARE,
    STILL_USING,
    STOPPED,
    TABLED_KINDS,
)

Key = Hashable


@dataclass
class Figure:
    """A count and its base, before (or after) protection; values are None when hidden."""

    measure: str
    wave: str
    question: str
    choice: str
    option: str
    dimension: str
    segment: str
    base_n: int | None
    count: int | None
    flag: str = ""

    @property
    def count_key(self) -> tuple[str, ...]:
        return ("n", self.measure, self.wave, self.question, self.choice, self.option,
                self.dimension, self.segment)  # fmt: skip

    def base_key(self, kind: str) -> tuple[str, ...]:
        # A matrix (and retention) has a base per row; other questions one per segment.
        scope = self.choice if self.measure == RETENTION or kind == "matrix" else ""
        return ("b", self.measure, self.wave, self.question, scope, self.dimension, self.segment)


@dataclass
class Item:
    value: int | None
    base: Key | None = None  # the base a count's complement is taken against
    virtual: bool = False  # a group no cell shows (never published, maybe derivable)
    published: bool = True
    flag: str = ""


@dataclass(eq=False)
class Relation:
    total: Key
    parts: tuple[Key, ...]
    members: tuple[Key, ...] = field(init=False, repr=False)  # total, then parts

    def __post_init__(self) -> None:
        self.members = (self.total, *self.parts)


@dataclass
class Table:
    items: dict[Key, Item] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    rows: dict[Key, list[Key]] = field(default_factory=lambda: defaultdict(list))
    _where: dict[Key, list[int]] | None = field(default=None, repr=False)

    def where(self) -> dict[Key, list[int]]:
        """The positions of the relations each key takes part in (once per member)."""
        if self._where is None:
            self._where = defaultdict(list)
            for index, relation in enumerate(self.relations):
                for member in relation.members:
                    self._where[member].append(index)
        return self._where

    def relations_of(self) -> dict[Key, list[Relation]]:
        """The relations each key takes part in (relations are fixed once built)."""
        found: dict[Key, list[Relation]] = defaultdict(list)
        for relation in self.relations:
            for member in relation.members:
                found[member].append(relation)
        return found

    def add(self, key: Key, item: Item) -> None:
        self.items.setdefault(key, item)

    def relate(self, total: Key, parts: Iterable[Key]) -> None:
        parts = tuple(parts)
        if total in self.items and parts and all(p in self.items for p in parts):
            self.relations.append(Relation(total, parts))
            self._where = None


@dataclass(frozen=True)
class Context:
    """What the tables need to know about questions: kinds, and which are dimensions."""

    kinds: dict[str, str]
    dimension_kinds: dict[str, str]


def _group(figure: Figure) -> tuple[str, str]:
    if figure.measure == MIGRATION or figure.question in MIGRATION_QUESTIONS:
        return (figure.wave, "migration")
    return (figure.wave, figure.question)


def _sum(values: Iterable[int | None]) -> int | None:
    total = 0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def _diff(total: int | None, part: int | None) -> int | None:
    return None if total is None or part is None else total - part


def build_tables(figures: list[Figure], context: Context) -> dict[tuple[str, str], Table]:
    """The tables of linked counts, one per wave and question (Census measures joined)."""
    tables: dict[tuple[str, str], Table] = defaultdict(Table)
    by_group: dict[tuple[str, str], list[Figure]] = defaultdict(list)
    for figure in figures:
        by_group[_group(figure)].append(figure)
    for group, members in by_group.items():
        table = tables[group]
        for figure in members:
            kind = context.kinds.get(figure.question, "")
            base_key = figure.base_key(kind)
            table.add(base_key, Item(figure.base_n, published=figure.base_n is not None))
            table.add(
                figure.count_key,
                Item(figure.count, base=base_key, published=figure.count is not None),
            )
            table.rows[base_key].append(figure.count_key)
        _relate_rows(table, [f for f in members if f.measure in (SHARE, MIGRATION)], context)
        _relate_segments(table, [f for f in members if f.measure == SHARE], context)
        _relate_retention(table, [f for f in members if f.measure == RETENTION])
        _relate_migration(table, members)
    return tables


def _row_sums_hold(figure: Figure, context: Context) -> bool:
    return figure.measure == MIGRATION or context.kinds.get(figure.question) in TABLED_KINDS


def _relate_rows(table: Table, figures: list[Figure], context: Context) -> None:
    rows: dict[Key, list[Key]] = defaultdict(list)
    for figure in figures:
        if _row_sums_hold(figure, context):
            rows[figure.base_key(context.kinds.get(figure.question, ""))].append(figure.count_key)
    for base, counts in rows.items():
        table.relate(base, counts)


def _relate_segments(table: Table, figures: list[Figure], context: Context) -> None:
    """Segments against the overall row, through groups no cell shows."""
    overall = {(f.question, f.choice, f.option): f for f in figures if not f.dimension}
    by_dimension: dict[str, list[Figure]] = defaultdict(list)
    for figure in figures:
        if figure.dimension:
            by_dimension[figure.dimension].append(figure)
    for dimension, segmented in by_dimension.items():
        single = context.dimension_kinds.get(dimension) != "multi"
        cells: dict[tuple[str, str, str], list[Figure]] = defaultdict(list)
        for figure in segmented:
            cells[(figure.question, figure.choice, figure.option)].append(figure)
        virtual_rows: dict[Key, list[Key]] = defaultdict(list)
        seen_bases: set[Key] = set()
        for cell_key, parts in cells.items():
            whole = overall.get(cell_key)
            if whole is None:
                continue
            kind = context.kinds.get(whole.question, "")
            groups = [("~none", parts)] if single else [(f"~not:{p.segment}", [p]) for p in parts]
            for segment, group_parts in groups:
                hidden = replace(whole, dimension=dimension, segment=segment)
                base_key = hidden.base_key(kind)
                if base_key not in seen_bases:
                    seen_bases.add(base_key)
                    base_value = _diff(whole.base_n, _sum(p.base_n for p in group_parts))
                    table.add(base_key, Item(base_value, virtual=True, published=False))
                    table.relate(whole.base_key(kind), [p.base_key(kind) for p in group_parts] +
                                 [base_key])  # fmt: skip
                count_value = _diff(whole.count, _sum(p.count for p in group_parts))
                table.add(
                    hidden.count_key,
                    Item(count_value, base=base_key, virtual=True, published=False),
                )
                table.relate(whole.count_key, [p.count_key for p in group_parts] +
                             [hidden.count_key])  # fmt: skip
                if kind in TABLED_KINDS:
                    virtual_rows[base_key].append(hidden.count_key)
        for virtual_base, counts in virtual_rows.items():
            table.relate(virtual_base, counts)


def _relate_retention(table: Table, figures: list[Figure]) -> None:
    for figure in figures:
        if figure.dimension:
            continue
        share = replace(figure, measure=SHARE, dimension="", segment="")
        still = [replace(share, option=column).count_key for column in STILL_USING]
        stopped = replace(share, option=STOPPED).count_key
        table.relate(figure.base_key("matrix"), [figure.count_key, stopped])
        table.relate(figure.count_key, still)


def _relate_migration(table: Table, figures: list[Figure]) -> None:
    pairs = [f for f in figures if f.measure == MIGRATION]
    if not pairs:
        return
    shares = {
        (f.question, f.choice): f
        for f in figures
        if f.measure == SHARE and not f.dimension and f.question in MIGRATION_QUESTIONS
    }
    switchers = pairs[0].base_n
    for question, side in ((MIGRATION_QUESTIONS[0], "choice"), (MIGRATION_QUESTIONS[1], "option")):
        sides: dict[str, list[Figure]] = defaultdict(list)
        for pair in pairs:
            sides[getattr(pair, side)].append(pair)
        for key, members in sides.items():
            margin = ("m", pairs[0].wave, question, key)
            table.add(margin, Item(_sum(p.count for p in members), virtual=True, published=False))
            table.relate(margin, [p.count_key for p in members])
            share = shares.get((question, key))
            # The switchers are a subset of those who answered: equal bases mean equal people.
            if share is not None and switchers is not None and share.base_n == switchers:
                table.relate(share.count_key, [margin])


def context_from_summary(summary: dict[str, Any]) -> Context:
    kinds: dict[str, str] = {}
    dimension_kinds: dict[str, str] = {}
    for question in summary.get("questions", []):
        kinds[question["key"]] = question["kind"]
        if question.get("is_dimension"):
            dimension_kinds[question["key"]] = question["kind"]
    return Context(kinds=kinds, dimension_kinds=dimension_kinds)
