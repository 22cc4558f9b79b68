"""The smallest and largest value every unknown of the system can take, with HiGHS.

Values fixed by single subtractions are found first (propagation). The rest splits into
independent blocks; each block is one linear program whose objective changes from unknown
to unknown (HiGHS starts again from the last basis). Every integral solution found is a
witness for every unknown of its block, so most unknowns are shown safe by the solutions
found for others and never need a program of their own. A bound whose optimum is
fractional is solved again over the integers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import highspy
import numpy as np

from .system import BASE, COUNT, GROUP, PUBLIC_GROUP, System

TOLERANCE = 1e-6
MIP_SECONDS = 5.0
SPREAD = 4  # pairs of random-direction solutions per block


class InconsistentFigures(ValueError):
    """The figures contradict their own identities: they were read while answers changed."""


@dataclass(frozen=True)
class Range:
    lo: float
    hi: float

    def safe(self, role: str, k: int) -> bool:
        """A reader cannot tell whether the group is empty, small or at least k.

        Hidden values need a range at least k wide; groups no cell shows must not be pinned
        to a small value. A range wholly at or above k, or exactly 0, shows no small group.
        """
        if role == PUBLIC_GROUP or self.hi <= 0 or self.lo >= k:
            return True
        if role == GROUP:
            return self.hi > self.lo
        return self.hi - self.lo >= k


def safe_from_witnesses(role: str, low: float, high: float, k: int) -> bool:
    """Whether two feasible integer points already prove the unknown safe."""
    if role == PUBLIC_GROUP:
        return True
    if role == GROUP:
        return high > low
    return high - low >= k


@dataclass
class Block:
    columns: list[int]  # system variables, in column order
    rows: list[int]
    highs: highspy.Highs
    row_terms: list[list[tuple[int, int]]]  # per block row: (system var, coef), all vars


class Solver:
    """Ranges of the unknowns of a system, kept up to date as values are hidden."""

    def __init__(self, system: System, k: int) -> None:
        self.system = system
        self.k = k
        self.rows_of = system.rows_of()
        self.programs = 0
        self.integer_programs = 0
        self.proven: set[int] = set()  # shown safe by witnesses: stays safe as more hides

    # -- propagation --------------------------------------------------------------------

    def _published(self) -> dict[int, float]:
        system = self.system
        return {
            i: float(v.value)
            for i, v in enumerate(system.vars)
            if v.published and v.value is not None
        }

    def _known(self) -> dict[int, float]:
        """Published values, then everything single subtractions give."""
        system = self.system
        known = self._published()
        missing = [sum(1 for i, _ in row.terms if i not in known) for row in system.rows]
        queue = [p for p, m in enumerate(missing) if m == 1]
        while queue:
            position = queue.pop()
            row = system.rows[position]
            if row.lo != row.hi:
                continue
            unknown = [(i, c) for i, c in row.terms if i not in known]
            if len(unknown) != 1:
                continue
            target, coef = unknown[0]
            rest = sum(c * known[i] for i, c in row.terms if i != target)
            known[target] = (row.lo - rest) / coef
            for other in self.rows_of[target]:
                missing[other] -= 1
                if missing[other] == 1:
                    queue.append(other)
        return known

    # -- blocks -------------------------------------------------------------------------

    def _blocks(self, known: dict[int, float]) -> list[list[int]]:
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for row in self.system.rows:
            unknown = [i for i, _ in row.terms if i not in known]
            for i in unknown:
                find(i)
            for a, b in zip(unknown, unknown[1:], strict=False):
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[ra] = rb
        groups: dict[int, list[int]] = defaultdict(list)
        for i in range(len(self.system.vars)):
            if i not in known:
                groups[find(i)].append(i)
        return list(groups.values())

    def _program(self, columns: list[int], known: dict[int, float]) -> Block:
        system = self.system
        position = {v: p for p, v in enumerate(columns)}
        rows = sorted({r for v in columns for r in self.rows_of[v]})
        lp = highspy.HighsLp()
        lp.num_col_ = len(columns)
        lp.num_row_ = len(rows)
        lp.col_cost_ = np.zeros(len(columns))
        lp.col_lower_ = np.array([float(system.vars[v].lower) for v in columns])
        lp.col_upper_ = np.full(len(columns), highspy.kHighsInf)
        lower, upper = [], []
        by_column: list[list[tuple[int, float]]] = [[] for _ in columns]
        row_terms = []
        for r_pos, r in enumerate(rows):
            row = system.rows[r]
            rest = 0.0
            for i, c in row.terms:
                if i in position:
                    by_column[position[i]].append((r_pos, float(c)))
                else:
                    rest += c * known[i]
            lower.append(-highspy.kHighsInf if row.lo == -math.inf else row.lo - rest)
            upper.append(highspy.kHighsInf if row.hi == math.inf else row.hi - rest)
            row_terms.append(list(row.terms))
        lp.row_lower_ = np.array(lower)
        lp.row_upper_ = np.array(upper)
        starts: list[int] = [0]
        indices: list[int] = []
        values: list[float] = []
        for entries in by_column:
            for r_pos, coef in entries:
                indices.append(r_pos)
                values.append(coef)
            starts.append(len(indices))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(indices, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(values)
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.passModel(lp)
        return Block(columns, rows, highs, row_terms)

    def _optimum(self, block: Block, column: int, sense: int) -> tuple[float, np.ndarray | None]:
        """The bound of one column (sense 1: max, -1: min) and an integral witness if any."""
        highs = block.highs
        n = len(block.columns)
        cost = np.zeros(n)
        cost[column] = 1.0
        highs.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        highs.changeObjectiveSense(
            highspy.ObjSense.kMaximize if sense > 0 else highspy.ObjSense.kMinimize
        )
        highs.run()
        self.programs += 1
        status = highs.getModelStatus()
        if status == highspy.HighsModelStatus.kUnbounded:
            return (math.inf if sense > 0 else -math.inf), None
        if status == highspy.HighsModelStatus.kInfeasible:
            raise InconsistentFigures("The figures contradict each other.")
        if status != highspy.HighsModelStatus.kOptimal:  # never guess a bound: stop loudly
            raise RuntimeError(f"HiGHS gave no bound ({highs.modelStatusToString(status)})")
        values = np.asarray(highs.getSolution().col_value)
        bound = float(values[column])
        if np.all(np.abs(values - np.round(values)) < TOLERANCE):
            return round(bound), np.round(values)
        return self._integer_optimum(block, column, sense)

    def _spread(self, block: Block, witness) -> None:
        """A few solutions pulled in random directions: witnesses for many unknowns at once."""
        n = len(block.columns)
        if n < 8:
            return
        generator = np.random.default_rng(n)
        everything = np.arange(n, dtype=np.int32)
        for sense in [1, -1] * SPREAD:
            block.highs.changeColsCost(n, everything, generator.random(n))
            block.highs.changeObjectiveSense(
                highspy.ObjSense.kMaximize if sense > 0 else highspy.ObjSense.kMinimize
            )
            block.highs.run()
            self.programs += 1
            if block.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                continue
            values = np.asarray(block.highs.getSolution().col_value)
            if np.all(np.abs(values - np.round(values)) < TOLERANCE):
                witness(np.round(values))

    def _integer_optimum(
        self, block: Block, column: int, sense: int
    ) -> tuple[float, np.ndarray | None]:
        """The bound over the integers; NaN (never safe) if HiGHS finds none in time."""
        highs = block.highs
        n = len(block.columns)
        everything = np.arange(n, dtype=np.int32)
        highs.changeColsIntegrality(n, everything, np.full(n, highspy.HighsVarType.kInteger))
        highs.setOptionValue("time_limit", MIP_SECONDS)
        highs.run()
        self.integer_programs += 1
        status = highs.getModelStatus()
        found: tuple[float, np.ndarray | None]
        if status == highspy.HighsModelStatus.kOptimal:
            values = np.round(np.asarray(highs.getSolution().col_value))
            found = (float(values[column]), values)
        else:  # no proof in time: no bound at all, so the unknown cannot be called safe
            found = (math.nan, None)
        highs.changeColsIntegrality(n, everything, np.full(n, highspy.HighsVarType.kContinuous))
        highs.setOptionValue("time_limit", highspy.kHighsInf)
        return found

    # -- ranges -------------------------------------------------------------------------

    def ranges(self, only: set[int] | None = None) -> dict[int, Range]:
        """The range of every unknown (or of those in `only`)."""
        return self.assess(only, widen=False)[0]

    def assess(
        self, only: set[int] | None = None, *, widen: bool = True
    ) -> tuple[dict[int, Range], dict[int, list[int]]]:
        """Ranges of the unknowns in `only` (all when None), and for each unsafe one the
        published values whose hiding would widen it, most useful first.

        An unknown once shown safe by two witnesses stays safe as more values are hidden
        (hiding only relaxes the system, and the witnesses stay feasible), so it is not
        looked at again.
        """
        known = self._known()
        published = self._published()
        system = self.system
        found: dict[int, Range] = {}
        widening: dict[int, list[int]] = {}
        wanted_all = {
            i
            for i, v in enumerate(system.vars)
            if not v.published and (only is None or i in only) and i not in self.proven
        }
        for i in self.proven:
            if only is None or i in only:
                found[i] = Range(-math.inf, math.inf)
        # Blocks and programs keep the values propagation pinned as columns, so that the
        # duals of a program lead back to the published values that pin them.
        for columns in self._blocks(published):
            wanted = {c for c in columns if c in wanted_all}
            if not wanted:
                continue
            easy = {c for c in wanted if c in known}
            for c in easy:
                r = Range(known[c], known[c])
                found[c] = r
            hard = wanted - {c for c in easy if found[c].safe(system.vars[c].role, self.k)}
            if hard:
                ranges, candidates = self._block_ranges(columns, published, hard, widen)
                found.update(ranges)
                widening.update(candidates)
        return found, widening

    def _block_ranges(
        self, columns: list[int], known: dict[int, float], only: set[int], widen: bool
    ) -> tuple[dict[int, Range], dict[int, list[int]]]:
        block = self._program(columns, known)
        roles = [self.system.vars[c].role for c in columns]
        low = np.full(len(columns), math.inf)
        high = np.full(len(columns), -math.inf)

        def witness(values: np.ndarray | None) -> None:
            if values is not None:
                np.minimum(low, values, out=low)
                np.maximum(high, values, out=high)

        if len(only) >= 4 * SPREAD:
            self._spread(block, witness)
        found: dict[int, Range] = {}
        candidates: dict[int, list[int]] = {}
        for p, var in enumerate(columns):
            if var not in only:
                continue
            if safe_from_witnesses(roles[p], low[p], high[p], self.k):
                found[var] = Range(low[p], high[p])
                self.proven.add(var)
                continue
            hi, values = self._optimum(block, p, 1)
            duals = [np.asarray(block.highs.getSolution().row_dual)] if widen else []
            witness(values)
            if safe_from_witnesses(roles[p], low[p], high[p], self.k):
                found[var] = Range(low[p], max(hi, high[p]))
                self.proven.add(var)
                continue
            lo, values = self._optimum(block, p, -1)
            if widen:
                duals.append(np.asarray(block.highs.getSolution().row_dual))
            witness(values)
            found[var] = Range(lo, hi)
            if widen and not found[var].safe(roles[p], self.k):
                candidates[var] = self._from_duals(block, duals) or self._neighbours(var)
        return found, candidates

    def _from_duals(self, block: Block, duals: list[np.ndarray]) -> list[int]:
        """Published values in the rows that bind, nonzero ones first; a zero comes last
        (hiding one means hiding its whole row, so that no hidden count can be 0 alone)."""
        scores: dict[int, float] = defaultdict(float)
        for dual in duals:
            for r_pos in np.flatnonzero(np.abs(dual) > TOLERANCE):
                for i, c in block.row_terms[r_pos]:
                    if self._hideable(i, zeros=True):
                        scores[i] += abs(dual[r_pos] * c)
        found = [i for i, s in scores.items() if s > TOLERANCE]
        vars_ = self.system.vars
        return self._ordered([i for i in found if vars_[i].value]) + self._ordered(
            [i for i in found if not vars_[i].value]
        )

    def _hideable(self, i: int, zeros: bool = False) -> bool:
        var = self.system.vars[i]
        return (
            var.published
            and var.role in (COUNT, BASE)
            and (zeros or bool(var.value))
            and var.key[0] != "N"
        )

    def _ordered(self, candidates: list[int]) -> list[int]:
        vars_ = self.system.vars
        return sorted(
            candidates, key=lambda i: (vars_[i].role == BASE, vars_[i].value, str(vars_[i].key))
        )

    def _neighbours(self, var: int) -> list[int]:
        seen = {i for r in self.rows_of[var] for i, _ in self.system.rows[r].terms}
        return self._ordered([i for i in seen if self._hideable(i)])
