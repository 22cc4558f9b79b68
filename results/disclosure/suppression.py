"""Protecting: primary, then complementary suppression until the audit passes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .auditing import Closure, Violation, _close, audit_table
from .flags import SUPPRESSED_BASE, SUPPRESSED_COUNT, SUPPRESSED_SECONDARY, is_small
from .tables import Context, Figure, Key, Relation, Table, _diff, _group, build_tables


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
        # A figure's own flag (a measure that left answers out) stands unless a value hides.
        flag = base.flag if not base.published else (count.flag or figure.flag)
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
