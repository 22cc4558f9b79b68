"""An outsider's attack on a published report, written apart from results.disclosure.

It reads only what anyone can download (cells.csv rows, codebook.csv rows, each wave's n),
writes down the identities a reader knows from the codebook and common sense, and narrows
every hidden value and every group no cell shows: by interval propagation over those
identities (fast, any size), or exactly with scipy's integer programming (small reports).
It shares no code with the protector: where the two disagree, one of them is wrong.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

TABLED = {"single", "scale", "matrix"}


@dataclass
class Unknown:
    name: tuple
    lo: float
    hi: float
    hidden_value: bool  # a published cell whose value is hidden (else a group no cell shows)


@dataclass
class Attack:
    values: dict[tuple, float] = field(default_factory=dict)  # what is published
    unknowns: dict[tuple, Unknown] = field(default_factory=dict)
    # sum(coef * term) == 0 or <= 0, terms by name (published names are constants)
    equal: list[list[tuple[tuple, int]]] = field(default_factory=list)
    at_most: list[list[tuple[tuple, int]]] = field(default_factory=list)
    published_small: list[tuple] = field(default_factory=list)

    def term(self, name: tuple, value: str | None, *, hidden_value: bool, lo: float = 0) -> tuple:
        if value not in (None, ""):
            self.values[name] = float(value)
        elif name not in self.unknowns:
            self.unknowns[name] = Unknown(name, lo, np.inf, hidden_value)
        return name

    def group(self, name: tuple) -> tuple:
        if name not in self.unknowns and name not in self.values:
            self.unknowns[name] = Unknown(name, 0, np.inf, False)
        return name


def attack(cells: list[dict], codebook: list[dict], totals: dict[str, int | None], k: int):
    """The outsider's system over a report's public files."""
    a = Attack()
    kinds = {r["question"]: r["kind"] for r in codebook if r["record"] == "question"}
    dimensions = {r["question"] for r in codebook if r["record"] == "question"
                  and r["is_dimension"] in ("true", True)}  # fmt: skip
    groups = {(r["wave"], r["question"], r["key"]): r["group"] for r in codebook
              if r["record"] == "choice" and r.get("group")}  # fmt: skip
    rows: dict[tuple, list[dict]] = defaultdict(list)
    for cell in cells:
        if cell["measure"] == "change":
            continue
        scope = cell["choice"] if cell["measure"] == "retention" or kinds.get(
            cell["question"]) == "matrix" else ""  # fmt: skip
        rows[(cell["measure"], cell["wave"], cell["question"], scope, cell["dimension"],
              cell["segment"])].append(cell)  # fmt: skip
    count_name = {}
    base_name = {}
    for row_key, members in rows.items():
        base = ("base", *row_key)
        shown_any = any(m["count"] not in (None, "") for m in members)
        a.term(base, members[0]["base_n"], hidden_value=True)
        for m in members:
            name = ("count", m["measure"], m["wave"], m["question"], m["choice"], m["option"],
                    m["dimension"], m["segment"])  # fmt: skip
            # Zeros are published wherever a row shows anything: a hidden count there is >= 1.
            a.term(name, m["count"], hidden_value=True, lo=1 if shown_any else 0)
            count_name[id(m)] = name
            base_name[id(m)] = base
            if m["count"] not in (None, "") and m["base_n"] not in (None, ""):
                value, of = float(m["count"]), float(m["base_n"])
                if 1 <= value < k or 1 <= of - value < k:
                    a.published_small.append(name)
        if members[0]["base_n"] not in (None, "") and 1 <= float(members[0]["base_n"]) < k:
            a.published_small.append(base)
        question = row_key[2]
        if row_key[0] == "migration" or (row_key[0] == "share" and kinds.get(question) in TABLED):
            a.equal.append([(count_name[id(m)], 1) for m in members] + [(base, -1)])
        else:
            for m in members:
                a.at_most.append([(count_name[id(m)], 1), (base, -1)])
    overall = {(c["measure"], c["wave"], c["question"], c["choice"], c["option"]): c
               for c in cells if not c["dimension"] and c["measure"] != "change"}  # fmt: skip
    # Segments and the rest of the wave make the overall figure (counts and bases alike).
    by_line: dict[tuple, list[dict]] = defaultdict(list)
    for c in cells:
        if c["dimension"] and c["measure"] == "share":
            by_line[(c["wave"], c["question"], c["choice"], c["option"], c["dimension"])].append(c)
    seen_bases: set[tuple] = set()
    for (wave, question, choice, option, dimension), parts in by_line.items():
        whole = overall.get(("share", wave, question, choice, option))
        if whole is None:
            continue
        if kinds.get(dimension) == "multi":
            for p in parts:  # a segment of a multiple choice is at most everyone
                a.at_most.append([(count_name[id(p)], 1), (count_name[id(whole)], -1)])
                a.at_most.append([(base_name[id(p)], 1), (base_name[id(whole)], -1)])
            continue
        rest = a.group(("rest", wave, question, choice, option, dimension))
        a.equal.append([(count_name[id(p)], 1) for p in parts] + [(rest, 1),
                       (count_name[id(whole)], -1)])  # fmt: skip
        bases = {base_name[id(p)] for p in parts}
        scope = choice if kinds.get(question) == "matrix" else ""
        rest_base = a.group(("rest-base", wave, question, scope, dimension))
        if rest_base not in seen_bases:
            seen_bases.add(rest_base)
            a.equal.append([(b, 1) for b in sorted(bases)] + [(rest_base, 1),
                           (base_name[id(whole)], -1)])  # fmt: skip
        a.at_most.append([(rest, 1), (rest_base, -1)])
    # Those who answered, plus those in the group who did not, make the group.
    sizes = {(c["wave"], c["question"], c["choice"]): count_name[id(c)]
             for c in cells if not c["dimension"] and c["measure"] == "share"
             and c["question"] in dimensions}  # fmt: skip
    for row_key in rows:
        measure, wave, question, _scope, dimension, segment = row_key
        if measure != "share":
            continue
        base = ("base", *row_key)
        if not dimension and totals.get(wave) is not None:
            n = a.term(("n", wave), str(totals[wave]), hidden_value=False)
            a.at_most.append([(base, 1), (n, -1)])
        elif (wave, dimension, segment) in sizes:
            size = sizes[(wave, dimension, segment)]
            skip = a.group(("skipped", *row_key))
            a.equal.append([(base, 1), (skip, 1), (size, -1)])
    # A finer question's choices add up into the coarser one's (countries into regions).
    into: dict[tuple, list[tuple]] = defaultdict(list)
    for (wave, question, choice), group in groups.items():
        finer = overall.get(("share", wave, question, choice, ""))
        if finer is not None:
            parent, parent_choice = group.split(":", 1)
            into[(wave, parent, parent_choice)].append(count_name[id(finer)])
    for (wave, parent, parent_choice), children in into.items():
        coarse = overall.get(("share", wave, parent, parent_choice, ""))
        if coarse is not None:
            a.equal.append([(c, 1) for c in children] + [(count_name[id(coarse)], -1)])
    return a


def _bounds(a: Attack, name: tuple) -> tuple[float, float]:
    if name in a.values:
        return a.values[name], a.values[name]
    u = a.unknowns[name]
    return u.lo, u.hi


def propagate(a: Attack, rounds: int = 200) -> None:
    """Narrow every unknown by what each identity allows, until nothing moves."""
    for _ in range(rounds):
        moved = False
        for terms, exact in [(t, True) for t in a.equal] + [(t, False) for t in a.at_most]:
            spans = [(_bounds(a, name), coef) for name, coef in terms]
            parts = [(min(c * lo, c * hi), max(c * lo, c * hi)) for (lo, hi), c in spans]
            low_inf = sum(1 for p, _ in parts if p == -np.inf)
            high_inf = sum(1 for _, p in parts if p == np.inf)
            low = sum(p for p, _ in parts if p != -np.inf)
            high = sum(p for _, p in parts if p != np.inf)
            for (name, coef), ((lo, hi), _), (own_low, own_high) in zip(
                terms, spans, parts, strict=True
            ):
                if name in a.values:
                    continue
                own_low_inf, own_high_inf = own_low == -np.inf, own_high == np.inf
                others_low = (
                    -np.inf if low_inf - own_low_inf else low - (0 if own_low_inf else own_low)
                )
                others_high = (
                    np.inf if high_inf - own_high_inf else high - (0 if own_high_inf else own_high)
                )
                # exact: others + own == 0; at most: others + own <= 0
                upper = -others_low  # own <= -others_low
                lower = -others_high if exact else -np.inf
                if coef > 0:
                    new_lo, new_hi = max(lo, lower / coef), min(hi, upper / coef)
                else:
                    new_lo, new_hi = max(lo, upper / coef), min(hi, lower / coef)
                new_lo, new_hi = np.ceil(new_lo - 1e-9), np.floor(new_hi + 1e-9)
                if new_lo > lo or new_hi < hi:
                    a.unknowns[name].lo, a.unknowns[name].hi = new_lo, new_hi
                    moved = True
        if not moved:
            return


def exact_ranges(a: Attack) -> None:
    """The exact integer range of every unknown, with scipy's milp (small reports only)."""
    names = list(a.unknowns)
    index = {name: i for i, name in enumerate(names)}
    rows, lower, upper = [], [], []
    for terms, exact in [(t, True) for t in a.equal] + [(t, False) for t in a.at_most]:
        row = np.zeros(len(names))
        constant = 0.0
        for name, coef in terms:
            if name in index:
                row[index[name]] += coef
            else:
                constant += coef * a.values[name]
        if not row.any():
            continue
        rows.append(row)
        lower.append(-constant if exact else -np.inf)
        upper.append(-constant)
    if not names or not rows:
        return
    constraints = LinearConstraint(np.array(rows), lower, upper)
    bounds = Bounds([a.unknowns[n].lo for n in names], [a.unknowns[n].hi for n in names])
    integrality = np.ones(len(names))
    for i, name in enumerate(names):
        found = []
        for sign in (1, -1):
            cost = np.zeros(len(names))
            cost[i] = sign
            result = milp(cost, constraints=constraints, bounds=bounds, integrality=integrality)
            found.append(sign * result.fun if result.success else sign * np.inf)
        a.unknowns[name].lo, a.unknowns[name].hi = found[0], found[1]


def leaks(a: Attack, k: int) -> list[tuple[tuple, float, float]]:
    """Hidden values narrowed below k of room, and unseen groups pinned to 1..k-1."""
    found = [(name, a.values[name], a.values[name]) for name in a.published_small]
    for name, u in a.unknowns.items():
        if u.hi <= 0 or u.lo >= k:
            continue
        narrow = u.hi - u.lo < k if u.hidden_value else u.hi == u.lo
        if narrow:
            found.append((name, u.lo, u.hi))
    return found
