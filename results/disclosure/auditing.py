"""Auditing: what can be learnt from the published values alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from .flags import K_DEFAULT, is_small
from .tables import Context, Figure, Key, Relation, Table, build_tables, context_from_summary

if TYPE_CHECKING:
    from ..models import Snapshot


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
        parts = cast(tuple[Any, ...], self.key)  # figure keys are tuples
        return {"cell": [str(part) for part in parts], "value": self.value, "how": self.how}


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
