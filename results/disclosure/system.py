"""The attacker's system: every published value, every group no cell shows, every identity.

One variable per number a reader can reason about: each published or hidden count and base,
each wave's n, and each group that no cell shows (the "no answer" group of a dimension, the
people in a segment who skipped a question, answers a derived measure left out). The same
count is one variable wherever it appears. Identities are rows `lo <= sum(coef * x) <= hi`
over nonnegative integers: row sums, segments against the overall row, bases against the
size of their group, country against region, retention and migration against the answers
they come from. See docs/disclosure.md.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from .figures import Context, Figure
from .flags import MIGRATION, MIGRATION_QUESTIONS, RETENTION, SHARE, STILL_USING, STOPPED

Key = tuple[Any, ...]
INF = float("inf")

# What a variable is. A "group" is never published; a "public group" follows from published
# numbers by design (the wave's n minus a question's n: both are on the report).
COUNT, BASE, GROUP, PUBLIC_GROUP = "count", "base", "group", "public-group"


@dataclass
class Var:
    key: Key
    role: str
    value: int | None  # the true value when the builder knows it, else None
    published: bool
    base: int | None = None  # a count's base (its row), by index
    lower: int = 0


@dataclass
class Row:
    terms: tuple[tuple[int, int], ...]  # (variable, coefficient)
    lo: float
    hi: float


@dataclass
class System:
    vars: list[Var] = field(default_factory=list)
    index: dict[Key, int] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    members: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))  # base: row

    def var(self, key: Key, role: str, value: int | None, published: bool) -> int:
        found = self.index.get(key)
        if found is not None:
            return found
        self.index[key] = len(self.vars)
        self.vars.append(Var(key, role, value, published))
        return self.index[key]

    def equal(self, plus: list[int], minus: list[int] | None = None, rhs: int = 0) -> None:
        terms = [(i, 1) for i in plus] + [(i, -1) for i in minus or []]
        self.rows.append(Row(tuple(terms), rhs, rhs))

    def at_most(self, small: int, big: int) -> None:
        self.rows.append(Row(((small, 1), (big, -1)), -INF, 0))

    def rows_of(self) -> dict[int, list[int]]:
        found: dict[int, list[int]] = defaultdict(list)
        for position, row in enumerate(self.rows):
            for index, _ in row.terms:
                found[index].append(position)
        return found

    def refresh_lower_bounds(self) -> None:
        """A hidden count is at least 1, since zeros are published, unless its whole row
        (base and every count) is hidden: only a row whose base is below k hides its zeros."""
        for var in self.vars:
            var.lower = 0
        for base, counts in self.members.items():
            if self.vars[base].role == GROUP:
                continue
            whole_row = not self.vars[base].published and not any(
                self.vars[c].published for c in counts
            )
            if whole_row:
                continue
            for count in counts:
                if not self.vars[count].published:
                    self.vars[count].lower = 1


def _overall_key(figure: Figure) -> tuple[str, str, str, str]:
    return (figure.measure, figure.question, figure.choice, figure.option)


def build_system(
    figures: list[Figure],
    context: Context,
    totals: dict[str, int | None],
    left_out: frozenset[str] = frozenset(),
) -> System:
    """The system over a snapshot's figures.

    `totals` holds each wave's published n; `left_out` the waves whose derived measures
    left contradicting answers out (the summary says so, whatever is hidden).
    """
    system = System()
    by_wave: dict[str, list[Figure]] = defaultdict(list)
    for figure in figures:
        by_wave[figure.wave].append(figure)
    for wave, members in by_wave.items():
        _wave_system(system, wave, members, context, totals.get(wave), wave in left_out)
    system.refresh_lower_bounds()
    return system


def _wave_system(
    system: System,
    wave: str,
    figures: list[Figure],
    context: Context,
    n: int | None,
    left_out: bool,
) -> None:
    n_var = system.var(("N", wave), BASE, n, n is not None)
    count_of: dict[Key, int] = {}
    base_of: dict[tuple, int] = {}
    rows: dict[int, list[int]] = defaultdict(list)
    for figure in figures:
        kind = context.kinds.get(figure.question, "")
        base_key = figure.base_key(kind)
        base = system.var(base_key, BASE, figure.base_n, figure.base_n is not None)
        count = system.var(figure.count_key, COUNT, figure.count, figure.count is not None)
        system.vars[count].base = base
        count_of[figure.count_key] = count
        base_of[base_key] = base
        rows[base].append(count)
    system.members.update(rows)
    overall = {_overall_key(f): f for f in figures if not f.dimension}
    _rows(system, figures, rows, count_of, context)
    _segments(system, wave, figures, overall, count_of, context)
    _group_sizes(system, wave, figures, overall, count_of, n_var, context)
    _groupings(system, figures, overall, count_of, context)
    _retention(system, figures, overall, count_of, left_out)
    _migration(system, figures, overall, count_of)


def _tabled(figure: Figure, context: Context) -> bool:
    return figure.measure == MIGRATION or context.row_sums(figure.question)


def _rows(system: System, figures, rows, count_of, context) -> None:
    seen: set[int] = set()
    for figure in figures:
        if figure.measure == RETENTION:
            continue
        base = system.vars[count_of[figure.count_key]].base
        assert base is not None
        if _tabled(figure, context):
            if base not in seen:
                seen.add(base)
                system.equal(rows[base], [base])
        else:
            system.at_most(count_of[figure.count_key], base)


def _virtual(system: System, key: Key) -> int:
    return system.var(key, GROUP, None, False)


def _segments(system: System, wave, figures, overall, count_of, context) -> None:
    """Segments and the group that answered none of them add up to the overall row."""
    by_cell: dict[tuple, dict[str, list[Figure]]] = defaultdict(lambda: defaultdict(list))
    for figure in figures:
        if figure.dimension and figure.measure == SHARE:
            by_cell[_overall_key(figure)][figure.dimension].append(figure)
    done_bases: set[tuple] = set()
    for cell_key, by_dimension in by_cell.items():
        whole = overall.get(cell_key)
        if whole is None:
            continue
        kind = context.kinds.get(whole.question, "")
        whole_count = count_of[whole.count_key]
        whole_base = system.vars[whole_count].base
        assert whole_base is not None
        for dimension, parts in by_dimension.items():
            if context.dimension_kinds.get(dimension) == "multi":
                groups = [(f"~not:{p.segment}", [p]) for p in parts]
            else:
                groups = [("~none", parts)]
            for segment, group in groups:
                rest = replace(whole, dimension=dimension, segment=segment)
                rest_count = _virtual(system, rest.count_key)
                rest_base = _virtual(system, rest.base_key(kind))
                system.vars[rest_count].base = rest_base
                system.members[rest_base].append(rest_count)
                system.equal([count_of[p.count_key] for p in group] + [rest_count], [whole_count])
                if (rest.base_key(kind)) not in done_bases:
                    done_bases.add(rest.base_key(kind))
                    bases = {system.vars[count_of[p.count_key]].base for p in group}
                    system.equal([b for b in bases if b is not None] + [rest_base], [whole_base])
    # The groups no cell shows obey their own row sums.
    for base, counts in list(system.members.items()):
        var = system.vars[base]
        if var.role == GROUP and isinstance(var.key, tuple) and var.key[0] == "b":
            question = var.key[3]
            if context.row_sums(str(question)):
                system.equal(list(dict.fromkeys(counts)), [base])
            else:
                for count in counts:
                    system.at_most(count, base)


def _group_sizes(system: System, wave, figures, overall, count_of, n_var, context) -> None:
    """Those who answered a question plus those who did not make the size of their group."""
    sizes: dict[tuple[str, str], int] = {}
    for dimension, kind in context.dimension_kinds.items():
        whole_key = (SHARE, dimension)
        members = [f for key, f in overall.items() if key[:2] == whole_key]
        if not members:
            continue
        for figure in members:
            sizes[(dimension, figure.choice)] = count_of[figure.count_key]
        if kind == "multi":
            for figure in members:
                rest = system.var(("z", wave, dimension, f"~not:{figure.choice}"), GROUP, None,
                                  False)  # fmt: skip
                system.equal([rest, count_of[figure.count_key]], [n_var])
                sizes[(dimension, f"~not:{figure.choice}")] = rest
        else:
            base = system.vars[count_of[members[0].count_key]].base
            assert base is not None
            sizes[(dimension, "~none")] = _skip(system, wave, base, n_var, public=True)
    for var_index, var in enumerate(list(system.vars)):
        if var.role not in (BASE, GROUP) or not isinstance(var.key, tuple):
            continue
        if var.key[0] != "b" or var.key[2] != wave or var.key[1] == RETENTION:
            continue
        if var.key[1] == MIGRATION:
            continue
        dimension, segment = str(var.key[5]), str(var.key[6])
        if not dimension:
            _skip(system, wave, var_index, n_var, public=True)
        elif (dimension, segment) in sizes:
            _skip(system, wave, var_index, sizes[(dimension, segment)], public=False)


def _skip(system: System, wave: str, base: int, size: int, *, public: bool) -> int:
    key = ("skip", system.vars[base].key)
    existing = system.index.get(key)
    if existing is not None:
        return existing
    skip = system.var(key, PUBLIC_GROUP if public else GROUP, None, False)
    system.equal([base, skip], [size])
    return skip


def _groupings(system: System, figures, overall, count_of, context) -> None:
    """A coarser question (region) is the sum of the finer one's choices (country)."""
    for child, (parent, mapping) in context.groupings.items():
        children = [f for key, f in overall.items() if key[:2] == (SHARE, child)]
        if not children:
            continue
        parents = {f.choice: f for key, f in overall.items() if key[:2] == (SHARE, parent)}
        by_parent: dict[str, list[Figure]] = defaultdict(list)
        for figure in children:
            if figure.choice in mapping:
                by_parent[mapping[figure.choice]].append(figure)
        for choice, group in by_parent.items():
            if choice in parents:
                system.equal(
                    [count_of[f.count_key] for f in group], [count_of[parents[choice].count_key]]
                )
        if parents and all(f.choice in mapping for f in children):
            first_parent = next(iter(parents.values()))
            child_base = system.vars[count_of[children[0].count_key]].base
            parent_base = system.vars[count_of[first_parent.count_key]].base
            if child_base is not None and parent_base is not None:
                system.equal([child_base], [parent_base])


def _retention(system: System, figures, overall, count_of, left_out: bool) -> None:
    """Still using / ever used, against the status answers, less any answers left out."""
    for figure in figures:
        if figure.measure != RETENTION or figure.dimension:
            continue
        still = count_of[figure.count_key]
        ever = system.vars[still].base
        assert ever is not None
        shares = [overall.get((SHARE, figure.question, figure.choice, c)) for c in STILL_USING]
        stopped = overall.get((SHARE, figure.question, figure.choice, STOPPED))
        if stopped is None or any(s is None for s in shares):
            continue
        still_answers = [count_of[s.count_key] for s in shares if s is not None]
        if left_out:  # answers were left out: how many is a group no cell shows
            left = [_virtual(system, ("left", figure.count_key, side)) for side in (0, 1)]
            system.equal([still, left[0]], still_answers)
            system.equal([ever, left[1]], [still, count_of[stopped.count_key]])
        else:
            system.equal([still], still_answers)
            system.equal([ever], [still, count_of[stopped.count_key]])


def _migration(system: System, figures, overall, count_of) -> None:
    """Each move's origin and destination are among those who answered the two questions."""
    pairs = [f for f in figures if f.measure == MIGRATION]
    for question, side in ((MIGRATION_QUESTIONS[0], "choice"), (MIGRATION_QUESTIONS[1], "option")):
        by_key: dict[str, list[Figure]] = defaultdict(list)
        for pair in pairs:
            by_key[getattr(pair, side)].append(pair)
        for key, members in by_key.items():
            answered = overall.get((SHARE, question, key, ""))
            if answered is None:
                continue
            rest = _virtual(system, ("rest", question, key, members[0].wave))
            system.equal(
                [count_of[p.count_key] for p in members] + [rest], [count_of[answered.count_key]]
            )
