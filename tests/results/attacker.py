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


# -- Weighted figures: the outsider rebuilds the weights from what is published --------------


def _rebuilt_weights(
    sizes: dict[str | None, float], n: float, targets: dict[str, float], trim
) -> dict:
    """Each segment's weight (and the no-answer group's, key None) from the published targets.

    Everyone in a segment of the one raking dimension shares a weight: raking on one margin
    converges in one step, and trimming (clip to bounds x mean, back to mean 1, repeated)
    keeps equal weights equal. So the weights follow from the segment sizes alone.
    """
    groups: dict[str | None, float] = {None: n - sum(sizes.values())}  # no answer: weight kept
    groups.update(sizes)
    weight = {g: 1.0 for g in groups}
    present = {s: t for s, t in targets.items() if groups.get(s, 0) > 0}
    pool = sum(groups[s] for s in present)
    for segment, share in present.items():
        weight[segment] = pool * share / sum(present.values()) / groups[segment]
    low, high = trim
    for _ in range(100):
        mean = sum(weight[g] * groups[g] for g in groups) / n
        scaled = {g: w / mean for g, w in weight.items()}
        clipped = {g: min(max(w, low), high) for g, w in scaled.items()}
        mean = sum(clipped[g] * groups[g] for g in groups) / n
        clipped = {g: w / mean for g, w in clipped.items()}
        if all(abs(clipped[g] - scaled[g]) < 1e-13 for g in groups):
            return clipped
        weight = clipped
    return weight


def weighted_surprises(cells: list[dict], summary: dict) -> tuple[int, list[tuple]]:
    """Published weighted shares an outsider cannot reproduce from published counts.

    A reader who knows how the weights are made (the method note) rebuilds them from the
    published targets, trim bounds and segment sizes, then computes every weighted share from
    the published breakdown by the raking dimension. A share that needs a hidden count, or
    that comes out different, carries information the counts do not: an equation the reader
    can solve. Returns how many weighted shares were checked and the surprises.
    """
    weighting = summary["weighting"]
    published = [c for c in cells if c["share_weighted"] not in ("", None)]
    dimensions = {t["dimension"] for t in weighting["targets"]}
    if not published:
        return 0, []
    if len(dimensions) != 1 or weighting.get("employer_cap"):
        # Several margins or an employer cap: weights vary within a segment, and the
        # reader cannot rebuild them from counts; any weighted share is a surprise.
        return len(published), [("unreproducible", _key(c)) for c in published]
    (dimension,) = dimensions
    targets = {t["segment"]: float(t["share"]) for t in weighting["targets"]}
    totals = {w["label"]: w["n"] for w in summary["waves"]}
    value = {}
    for c in cells:
        if c["measure"] != "change":
            value[(*_key(c), c["dimension"], c["segment"])] = c
    surprises: list[tuple] = []
    for c in published:
        wave = c["wave"]
        if c["measure"] == "change":  # the difference of two published weighted shares
            row = (c["question"], c["choice"], c["option"], c["dimension"], c["segment"])
            ends = [value.get(("share", w, *row)) for w in (wave, c["compare_wave"])]
            later, earlier = (end["share_weighted"] if end else None for end in ends)
            if later in ("", None) or earlier in ("", None):
                surprises.append(("change of an unpublished weighted share", _key(c)))
            elif abs(float(later) - float(earlier) - float(c["share_weighted"])) > 1e-8:
                surprises.append(("change differs", _key(c)))
            continue
        if c["dimension"] == dimension:  # one weight in the segment: the unweighted share
            if abs(float(c["share_weighted"]) - float(c["share"])) > 1e-8:
                surprises.append(("differs", _key(c), c["segment"]))
            continue
        if c["dimension"]:  # another dimension's segment mixes weights the reader cannot see
            surprises.append(("unreproducible", _key(c), c["dimension"], c["segment"]))
            continue
        sizes = {
            seg["choice"]: float(seg["count"])
            for seg in cells
            if seg["wave"] == wave and seg["question"] == dimension and not seg["dimension"]
            and seg["measure"] == "share" and seg["count"] not in ("", None)
        }  # fmt: skip
        weight = _rebuilt_weights(sizes, float(totals[wave]), targets, weighting["trim"])
        found = _weighted_parts(value, c, dimension, list(sizes))
        if found is None:
            surprises.append(("over hidden counts", _key(c)))
            continue
        count, base = found
        count[None] = float(c["count"]) - sum(count.values())
        base[None] = float(c["base_n"]) - sum(base.values())
        num = sum(weight.get(s, 1.0) * v for s, v in count.items())
        den = sum(weight.get(s, 1.0) * v for s, v in base.items())
        if den <= 0 or abs(min(1.0, num / den) - float(c["share_weighted"])) > 1e-8:
            surprises.append(("differs", _key(c), num / den if den else None))
            continue
        squares = sum(weight.get(s, 1.0) ** 2 * v for s, v in base.items())
        if abs(den * den / squares - float(c["n_eff"])) > 1e-6 * float(c["n_eff"]):
            surprises.append(("n_eff differs", _key(c), den * den / squares))
    return len(published), surprises


def _key(c: dict) -> tuple:
    return (c["measure"], c["wave"], c["question"], c["choice"], c["option"])


def _weighted_parts(value: dict, c: dict, dimension: str, segments: list[str]):
    """Per segment of the raking dimension, the row's count and base, from published cells.

    A cross of two dimensions may be published in one direction only: the count of
    (question = a, dimension segment s) is then the transposed table's (question = dimension,
    choice s, segment a), and a single-choice question's base in s is the sum of its answers.
    None when any of them is hidden.
    """
    measure, wave, question, choice, option = _key(c)
    if question == dimension:  # the raking dimension itself: its own sizes
        sizes = {s: _number(value.get(("share", wave, question, s, "", "", "")), "count")
                 for s in segments}  # fmt: skip
        if any(v is None for v in sizes.values()):
            return None
        known = {s: float(v or 0) for s, v in sizes.items()}
        return {s: v if s == choice else 0.0 for s, v in known.items()}, known

    def cross(answer: str, segment: str) -> float | None:
        direct = value.get((measure, wave, question, answer, option, dimension, segment))
        if direct is None and measure == "share" and not option:
            direct = value.get(("share", wave, dimension, segment, "", question, answer))
        return _number(direct, "count")

    answers = sorted({key[3] for key in value if key[:3] == (measure, wave, question)
                      and key[4] == option and not key[5]})  # fmt: skip
    count: dict[str | None, float] = {}
    base: dict[str | None, float] = {}
    for segment in segments:
        own = cross(choice, segment)
        direct = value.get((measure, wave, question, choice, option, dimension, segment))
        if direct is not None:
            segment_base = _number(direct, "base_n")
        else:
            row = [cross(answer, segment) for answer in answers]
            segment_base = None if None in row else sum(r or 0.0 for r in row)
        if own is None or segment_base is None:
            return None
        count[segment], base[segment] = own, segment_base
    return count, base


def _number(row: dict | None, name: str) -> float | None:
    return None if row is None or row[name] in ("", None) else float(row[name])
