"""Disclosure control: the single funnel every public number passes through.

A snapshot's counts form tables linked by sums: the choices of a single-choice question add
up to its base, the segments of a single-choice dimension add up to the overall row (plus
the respondents who did not answer the dimension, a group no cell shows), and so on. Each
sum is a `Relation`. Primary suppression hides counts (or complements) between 1 and k-1
and rows whose base is below k; complementary suppression then hides more cells until no
hidden count can be recovered by subtraction, and no subtraction reveals a group of 1..k-1
people. `audit_figures` proves that from the published values alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Snapshot

K_DEFAULT = 10
K_MIN = 5
N_EFF_MIN = 30

SUPPRESSED_COUNT = "suppressed-count"
SUPPRESSED_BASE = "suppressed-base"
SUPPRESSED_SECONDARY = "suppressed-secondary"
LOW_N_EFF = "low-n-eff"
WORDING_BREAK = "wording-break"
NO_DETECTABLE_CHANGE = "no-detectable-change"
NOT_ASKED = "not-asked"
FEWER_THAN_K = "fewer than k"

FLAGS: dict[str, str] = {
    "": "Published.",
    SUPPRESSED_COUNT: "Hidden: the count, or the base minus the count, is between 1 and k-1.",
    SUPPRESSED_BASE: "Hidden: fewer than k people answered in this group.",
    SUPPRESSED_SECONDARY: "Hidden so that another hidden value cannot be worked out by "
    "subtraction.",
    LOW_N_EFF: "Share not shown: the effective sample size is below 30.",
    WORDING_BREAK: "No change shown: the question's wording differs between the waves.",
    NO_DETECTABLE_CHANGE: "The 95% interval of the change includes zero.",
    NOT_ASKED: "The question was not asked in this wave.",
}
SUPPRESSING = frozenset({SUPPRESSED_COUNT, SUPPRESSED_BASE, SUPPRESSED_SECONDARY})

# Census questions with measures of their own; they join the tables of their sources.
RETENTION_QUESTION = "framework_status"
MIGRATION_QUESTIONS = ("migration_from", "migration_to")
STILL_USING = ("new-projects", "existing-only")
STOPPED = "stopped"

SHARE, RETENTION, MIGRATION = "share", "retention", "migration"  # migration cells' question too
TABLED_KINDS = {"single", "scale", "matrix"}  # kinds whose cells in a row add up to the base

Key = Hashable


def k_for(k_threshold: int | None) -> int:
    """The k to use: the series' own, never below K_MIN."""
    return max(K_MIN, k_threshold or K_DEFAULT)


def is_small(value: int | None, k: int) -> bool:
    return value is not None and 1 <= value <= k - 1


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
        for base_key, counts in virtual_rows.items():
            table.relate(base_key, counts)


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


# Auditing: what can be learnt from the published values alone.


@dataclass
class Closure:
    known: dict[Key, int]
    derived_by: dict[Key, Relation]
    missing: list[int]  # per relation: how many of its members are still unknown


def _close(table: Table) -> Closure:
    """Everything that follows from published values by repeated single subtraction."""
    known: dict[Key, int] = {
        key: item.value
        for key, item in table.items.items()
        if item.published and item.value is not None
    }
    derived_by: dict[Key, Relation] = {}
    relations = table.relations
    where = table.where()
    missing = [len([m for m in r.members if m not in known]) for r in relations]
    queue = [i for i, n in enumerate(missing) if n == 1]

    def learn(target: Key, value: int, relation: Relation) -> None:
        known[target] = value
        derived_by[target] = relation
        for other in where[target]:
            missing[other] -= 1
            if missing[other] == 1:
                queue.append(other)

    while True:
        while queue:
            relation = table.relations[queue.pop()]
            unknown = [m for m in relation.members if m not in known]
            if len(unknown) != 1:
                continue
            target = unknown[0]
            parts = sum(known[p] for p in relation.parts if p != target)
            learn(target, parts if target == relation.total else known[relation.total] - parts,
                  relation)  # fmt: skip
        # Counts are never negative: unknown parts that must add up to 0 are all 0.
        for index, relation in enumerate(relations):
            # With the total known, `missing` counts the unknown parts: two are needed here.
            if missing[index] < 2 or relation.total not in known:
                continue
            unknown = [p for p in relation.parts if p not in known]
            if len(unknown) >= 2 and known[relation.total] == sum(
                known[p] for p in relation.parts if p in known
            ):
                for part in unknown:
                    if part not in known:
                        learn(part, 0, relation)
        if not queue:
            break
    return Closure(known, derived_by, missing)


@dataclass
class Violation:
    key: Key
    value: int
    how: str
    relation: Relation | None

    def as_dict(self) -> dict[str, Any]:
        return {"cell": [str(part) for part in self.key], "value": self.value, "how": self.how}


def audit_table(table: Table, k: int, closure: Closure | None = None) -> list[Violation]:
    closure = closure if closure is not None else _close(table)
    known = closure.known
    found: list[Violation] = []
    for key, value in known.items():
        item = table.items.get(key)
        how = "published" if key not in closure.derived_by else "subtraction"
        relation = closure.derived_by.get(key)
        if is_small(value, k):
            found.append(Violation(key, value, how, relation))
        elif item is not None and item.base is not None and item.base in known:
            complement = known[item.base] - value
            if is_small(complement, k):
                found.append(Violation(key, complement, f"complement by {how}", relation))
    for index, relation in enumerate(table.relations):
        if closure.missing[index] < 2 or relation.total not in known:
            continue
        unknown = [p for p in relation.parts if p not in known]
        if len(unknown) >= 2:
            rest = known[relation.total] - sum(known[p] for p in relation.parts if p in known)
            if is_small(rest, k):
                found.append(Violation(unknown[0], rest, "sum by subtraction", relation))
    return found


def audit_figures(figures: list[Figure], context: Context, k: int) -> dict[str, Any]:
    """Prove from published values alone that no count in 1..k-1 can be read or derived."""
    tables = build_tables(figures, context)
    violations = [v.as_dict() for table in tables.values() for v in audit_table(table, k)]
    return {
        "passed": not violations,
        "k": k,
        "tables": len(tables),
        "relations": sum(len(t.relations) for t in tables.values()),
        "published": sum(1 for f in figures if f.count is not None),
        "hidden": sum(1 for f in figures if f.count is None),
        "violations": violations[:50],
        "violation_count": len(violations),
    }


# Protecting: primary, then complementary suppression until the audit passes.


def _suppress(table: Table, key: Key, flag: str) -> None:
    item = table.items[key]
    if not item.published:
        return
    item.published = False
    item.flag = flag
    if item.base is None:  # a base: without it, the whole row goes
        for member in table.rows.get(key, []):
            member_item = table.items[member]
            if member_item.published:
                member_item.published = False
                member_item.flag = flag


def _derivable_elsewhere(
    relations_of: dict[Key, list[Relation]], key: Key, known: dict[Key, int], skip: Relation
) -> bool:
    for relation in relations_of.get(key, ()):
        if relation is skip:
            continue
        if all(m in known for m in relation.members if m != key):
            return True
    return False


def _block(
    table: Table,
    violation: Violation,
    closure: Closure,
    relations_of: dict[Key, list[Relation]],
) -> bool:
    """Hide one more published value so the violation's subtraction no longer works."""
    relation = violation.relation
    if relation is None:
        return False
    known = closure.known
    candidates = [
        m
        for m in relation.members
        if m != violation.key
        and table.items[m].published
        and not table.items[m].virtual
        and (table.items[m].value or 0) > 0
    ]
    if not candidates:
        # Every other member is itself derived: break one of those derivations instead.
        for member in relation.members:
            source = closure.derived_by.get(member)
            if member != violation.key and source is not None and source is not relation:
                if _block(table, Violation(member, 0, "", source), closure, relations_of):
                    return True
        return False

    def order(key: Key) -> tuple[int, int, str]:
        is_total = 1 if key == relation.total else 0
        return (is_total, table.items[key].value or 0, str(key))

    candidates.sort(key=order)
    without = {k: v for k, v in known.items() if k != violation.key}
    for candidate in candidates:  # prefer one that no other sum gives straight back
        if not _derivable_elsewhere(relations_of, candidate, without, relation):
            _suppress(table, candidate, SUPPRESSED_SECONDARY)
            return True
    _suppress(table, candidates[0], SUPPRESSED_SECONDARY)
    return True


def protect_table(table: Table, k: int) -> None:
    for key, item in table.items.items():
        if item.virtual or item.base is not None:
            continue
        if item.value is None or item.value < k:
            _suppress(table, key, SUPPRESSED_BASE)
    for item in table.items.values():
        if item.virtual or item.base is None or not item.published:
            continue
        base = table.items[item.base].value
        if is_small(item.value, k) or is_small(_diff(base, item.value), k):
            item.published = False
            item.flag = SUPPRESSED_COUNT
    relations_of = table.relations_of()
    for _round in range(len(table.items) + 1):
        closure = _close(table)
        violations = audit_table(table, k, closure)
        if not violations:
            return
        progressed = False
        for violation in violations:
            progressed = _block(table, violation, closure, relations_of) or progressed
        if not progressed:
            break
    # Nothing else worked: hide everything in the table rather than publish a leak.
    for key, item in table.items.items():
        if not item.virtual and item.published:
            _suppress(table, key, SUPPRESSED_SECONDARY)


def protect(figures: list[Figure], context: Context, k: int) -> list[Figure]:
    """The figures as they may be published: hidden values None, each with its flag."""
    tables = build_tables(figures, context)
    for table in tables.values():
        protect_table(table, k)
    protected: list[Figure] = []
    for figure in figures:
        table = tables[_group(figure)]
        base = table.items[figure.base_key(context.kinds.get(figure.question, ""))]
        count = table.items[figure.count_key]
        flag = base.flag if not base.published else count.flag
        protected.append(
            replace(
                figure,
                base_n=figure.base_n if base.published else None,
                count=figure.count if count.published else None,
                flag=flag,
            )
        )
    return protected


def protect_counts(counts: dict[str, int], k: int, total: int | None = None) -> dict[str, Any]:
    """People counts in a summary (per channel, per exclusion reason) that add up to total.

    Values below k are hidden; if exactly one would then follow from the total, the next
    smallest is hidden too.
    """
    shown: dict[str, int | None] = {
        key: (None if is_small(n, k) else n) for key, n in sorted(counts.items())
    }
    hidden = [key for key, n in shown.items() if n is None]
    if total is not None and not is_small(total, k):
        rest = total - sum(n for n in shown.values() if n is not None)
        while hidden and (len(hidden) == 1 or is_small(rest, k)):
            visible = sorted((n, key) for key, n in shown.items() if n)
            if not visible:
                break
            n, key = visible[0]
            shown[key] = None
            hidden.append(key)
            rest += n
    return shown


def context_from_summary(summary: dict[str, Any]) -> Context:
    kinds: dict[str, str] = {}
    dimension_kinds: dict[str, str] = {}
    for question in summary.get("questions", []):
        kinds[question["key"]] = question["kind"]
        if question.get("is_dimension"):
            dimension_kinds[question["key"]] = question["kind"]
    return Context(kinds=kinds, dimension_kinds=dimension_kinds)


# The stored fields a Figure is made of, in its order.
AUDITED = ("measure", "wave", "question", "choice", "option", "dimension", "segment", "base_n",
           "count", "flag")  # fmt: skip


def audit(snapshot: Snapshot) -> dict[str, Any]:
    """Audit a stored snapshot from its published cells alone."""
    stored = snapshot.cells.exclude(measure="change").order_by("pk").values_list(*AUDITED)
    figures = [Figure(*values) for values in stored]
    k = int(snapshot.parameters.get("k", K_DEFAULT))
    report = audit_figures(figures, context_from_summary(snapshot.summary), k)
    leaks = _summary_leaks(snapshot.summary, k)
    if leaks:
        report["passed"] = False
        report["summary_leaks"] = leaks
    return report


def _summary_leaks(summary: dict[str, Any], k: int) -> list[str]:
    leaks: list[str] = []
    for wave in summary.get("waves", []):
        for part in ("channels", "exclusions"):
            for key, n in (wave.get(part) or {}).items():
                if is_small(n, k):
                    leaks.append(f"{wave.get('label')} {part} {key}")
    return leaks
