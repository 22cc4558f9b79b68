"""Protecting: primary suppression, then more hidden values until the solver finds no leak."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from .figures import Context, Figure
from .flags import HIDDEN, HIDDEN_BASE, REASON_BASE, REASON_SECONDARY, REASON_SMALL, is_small
from .solver import Range, Solver
from .system import BASE, COUNT, PUBLIC_GROUP, System, build_system

logger = logging.getLogger(__name__)


@dataclass
class Protection:
    figures: list[Figure]
    secondary: int  # values hidden only to protect others
    programs: int
    integer_programs: int
    withheld: list[str]  # waves that publish no figure: nothing could make them safe


def _hide(
    system: System, index: int, reason: str, reasons: dict[int, str], row: bool = False
) -> None:
    """Hide a value; with `row`, a base and every count in its row (zeros too), even when
    the base itself is already hidden."""
    var = system.vars[index]
    if not var.published and not row:
        return
    if var.published:
        var.published = False
        reasons[index] = reason
    if row:
        for member in system.members.get(index, []):
            if system.vars[member].published:
                system.vars[member].published = False
                reasons[member] = reason


def _hide_row_of(system: System, index: int, reasons: dict[int, str]) -> bool:
    """Hide the whole row (zeros too) of a count or base, for a count that published zeros
    hold too narrow or a zero that must go."""
    base = index if system.vars[index].role == BASE else system.vars[index].base
    if base is None or system.vars[base].role != BASE:
        return False
    row = [base, *system.members.get(base, [])]
    if all(not system.vars[i].published for i in row):
        return False
    _hide(system, base, REASON_SECONDARY, reasons, row=True)
    return True


def _primary(system: System, k: int, reasons: dict[int, str]) -> None:
    for index, var in enumerate(system.vars):
        if var.role == BASE and var.published and var.key[0] == "b" and is_small(var.value, k):
            _hide(system, index, REASON_BASE, reasons, row=True)
    for index, var in enumerate(system.vars):
        if var.role != COUNT or not var.published or var.base is None:
            continue
        base = system.vars[var.base].value
        rest = None if base is None or var.value is None else base - var.value
        if is_small(var.value, k) or is_small(rest, k):
            _hide(system, index, REASON_SMALL, reasons)


def _lower(system: System, index: int, reasons: dict[int, str]) -> int:
    var = system.vars[index]
    if var.role != COUNT or var.base is None:
        return 0
    return 0 if reasons.get(var.base) == REASON_BASE else 1


def _lines(system: System, k: int, reasons: dict[int, str]) -> None:
    """Cheap first pass: in every sum whose hidden parts all count the same way, leave k
    of room (or two hidden parts for a group no cell shows) before the solver looks.

    It hides what the solver would have asked for in most cases, in a fraction of the time;
    the solver then checks everything and asks for the rest.
    """
    rows_of = system.rows_of()
    queue = list(range(len(system.rows)))
    queued = set(queue)
    while queue:
        position = queue.pop()
        queued.discard(position)
        row = system.rows[position]
        if row.lo != row.hi:
            continue
        hidden = [(i, c) for i, c in row.terms if not system.vars[i].published]
        if not hidden or len({c for _, c in hidden}) != 1:
            continue
        sign = hidden[0][1]
        room = sign * (row.lo - sum(c * (system.vars[i].value or 0)
                                    for i, c in row.terms if system.vars[i].published))  # fmt: skip
        room -= sum(_lower(system, i, reasons) for i, _ in hidden)
        roles = {system.vars[i].role for i, _ in hidden}
        protected_roles = roles & {COUNT, BASE}
        if len(hidden) == 1:
            pinned = room + _lower(system, hidden[0][0], reasons)
            if roles == {PUBLIC_GROUP} or pinned == 0 or pinned >= k:
                continue
        elif protected_roles and room >= k or not protected_roles and room >= 1:
            continue
        elif roles == {PUBLIC_GROUP}:
            continue
        need = k - room if protected_roles else 1 - room
        candidates = sorted(
            (
                (system.vars[i].role == BASE, (system.vars[i].value or 0) < need,
                 system.vars[i].value or 0, i)
                for i, c in row.terms
                if c == sign and system.vars[i].published and system.vars[i].role in (COUNT, BASE)
                and system.vars[i].value and system.vars[i].key[0] != "N"
            )
        )  # fmt: skip
        if not candidates:
            continue  # only the total is left to hide: the solver decides
        chosen = candidates[0][-1]
        _hide(system, chosen, REASON_SECONDARY, reasons)
        for other in rows_of[chosen]:
            if other not in queued:
                queued.add(other)
                queue.append(other)


def _unsafe(solver: Solver, ranges: dict[int, Range]) -> list[int]:
    roles = solver.system.vars
    return sorted(i for i, r in ranges.items() if not r.safe(roles[i].role, solver.k))


def protect_system(system: System, k: int) -> tuple[dict[int, str], Solver]:
    """Hide values in the system until every unknown is safe; the reasons by variable.

    Each round assesses the unknowns not yet shown safe and, for each one still unsafe,
    hides the published value the solver's duals point to (a count before a base, the
    smallest first), then looks again at those and at what was just hidden.
    """
    reasons: dict[int, str] = {}
    _primary(system, k, reasons)
    _lines(system, k, reasons)
    system.refresh_lower_bounds()
    solver = Solver(system, k)
    check: set[int] | None = None
    for _round in range(len(system.vars)):
        ranges, widening = solver.assess(check)
        unsafe = _unsafe(solver, ranges)
        logger.debug("round %d: %d unsafe, %d programs", _round, len(unsafe), solver.programs)
        if not unsafe:  # every unknown not shown safe for good was looked at again
            return reasons, solver
        hidden_now: set[int] = set()
        for index in unsafe:
            candidates = [c for c in widening.get(index, []) if c not in hidden_now]
            if candidates:
                chosen = candidates[0]
                if system.vars[chosen].value:
                    _hide(system, chosen, REASON_SECONDARY, reasons)
                else:  # a zero goes only with its whole row
                    _hide_row_of(system, chosen, reasons)
                hidden_now.add(chosen)
            elif _hide_row_of(system, index, reasons):
                hidden_now.update(system.members.get(system.vars[index].base or 0, []))
            elif not widening.get(index):
                raise Unprotectable(f"Nothing left to hide for {system.vars[index].key}")
        system.refresh_lower_bounds()
        check = set(unsafe) | hidden_now | {i for i, r in ranges.items() if r.lo == r.hi}
        check |= {i for i, v in enumerate(system.vars) if not v.published} - solver.proven
    raise Unprotectable("Protection did not converge")


class Unprotectable(RuntimeError):
    """Nothing published could be hidden to make a wave safe (a tiny wave)."""


def protect(
    figures: list[Figure],
    context: Context,
    k: int,
    totals: dict[str, int | None],
    left_out: frozenset[str] = frozenset(),
) -> Protection:
    """The figures as they may be published: hidden values None, flagged `hidden`.

    Waves share no identity, so each is protected on its own. A wave that cannot be made
    safe while its n is shown (a handful of people spread over every table) publishes no
    figure at all: its figures are left out of the result and named in `withheld`.
    """
    by_wave: dict[str, list[Figure]] = {}
    for figure in figures:
        by_wave.setdefault(figure.wave, []).append(figure)
    shown: dict[int, Figure] = {}
    secondary = programs = integer_programs = 0
    withheld: list[str] = []
    for wave, members in by_wave.items():
        system = build_system(members, context, totals, left_out)
        try:
            reasons, solver = protect_system(system, k)
        except Unprotectable:
            withheld.append(wave)
            continue
        programs += solver.programs
        integer_programs += solver.integer_programs
        secondary += sum(1 for r in reasons.values() if r == REASON_SECONDARY)
        for figure in members:
            shown[id(figure)] = _shown(figure, system, reasons, context)
    return Protection(
        [shown[id(f)] for f in figures if id(f) in shown],
        secondary,
        programs,
        integer_programs,
        withheld,
    )


def _shown(figure: Figure, system: System, reasons: dict[int, str], context: Context) -> Figure:
    base_index = system.index[figure.base_key(context.kinds.get(figure.question, ""))]
    count_index = system.index[figure.count_key]
    base_shown = system.vars[base_index].published
    count_shown = system.vars[count_index].published
    reason = reasons.get(count_index) or reasons.get(base_index, "")
    return replace(
        figure,
        base_n=figure.base_n if base_shown else None,
        count=figure.count if count_shown else None,
        flag=HIDDEN if not count_shown else figure.flag if base_shown else HIDDEN_BASE,
        reason=reason if not (count_shown and base_shown) else "",
    )


def _published_small(system: System, k: int) -> list[dict[str, Any]]:
    """Published values that show a small group outright: a count or base of 1 to k-1, or a
    count whose base leaves 1 to k-1 people out."""
    found = []
    for var in system.vars:
        if not var.published or var.role not in (COUNT, BASE) or var.value is None:
            continue
        rest = None
        if var.role == COUNT and var.base is not None and system.vars[var.base].published:
            base = system.vars[var.base].value
            rest = None if base is None else base - var.value
        if is_small(var.value, k) or is_small(rest, k):
            found.append({"value": [str(part) for part in var.key], "role": var.role,
                          "lo": var.value, "hi": var.value, "how": "published"})  # fmt: skip
    return found


def audit_system(system: System, k: int) -> dict[str, Any]:
    """Every unknown's range from the published values alone, and those that leak."""
    solver = Solver(system, k)
    ranges = solver.ranges()
    leaks = _published_small(system, k)
    for index in _unsafe(solver, ranges):
        var = system.vars[index]
        r = ranges[index]
        leaks.append({"value": [str(part) for part in var.key], "role": var.role,
                      "lo": r.lo, "hi": r.hi})  # fmt: skip
    return {
        "unknowns": len(ranges),
        "programs": solver.programs,
        "integer_programs": solver.integer_programs,
        "leaks": leaks,
    }


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


def protect_people(counts: dict[str, int], k: int, total: int, other: str) -> dict[str, Any]:
    """Counts of people in a summary (channels, exclusion reasons): names of groups under k
    are pooled under `other` (a name is information too), then small counts are hidden."""
    pooled: dict[str, int] = {}
    for key, n in counts.items():
        name = key if n >= k else other
        pooled[name] = pooled.get(name, 0) + n
    return protect_counts(pooled, k, total=total)
