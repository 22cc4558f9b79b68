"""The public columns of a cell: the one schema the CSVs, the API, the charts and the audit use.

Each column says what it holds, its type, and what a flag withholds from it. `cells.csv`
writes every column in this order, the API's cell shape and the chart CSVs are derived from
it, and `SHOWN_WHEN` is the one rule of what a flag withholds: `public_values` applies it to
a cell in Python, `shown_sql` compiles the same rule to SQL (cells.csv streamed by COPY). A
column added here appears everywhere at once; a column that is not here is never public (the
cell's `reason`, for one, is for admins only).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from .flags import COUNT_SHOWN_FLAGS, NOT_ASKED, SHOWN_FLAGS

Kind = Literal["text", "integer", "fraction", "number", "boolean"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    meaning: str
    # "value": nulled by any flag that hides; "count": nulled by a flag that hides the count
    # (not by low-n-eff, which withholds only the share); "base": nulled when not asked.
    withheld: Literal["", "value", "count", "base"] = ""
    per_series: bool = False  # the same on every row (not stored per cell)


CELL_SCHEMA: tuple[Column, ...] = (
    Column("series", "text", "The series' slug.", per_series=True),
    Column("wave", "text", "The wave's label."),
    Column("question", "text", "Question key (for migration cells: migration)."),
    Column(
        "choice",
        "text",
        "Choice key; for a matrix, the row; for migration, the framework moved from.",
    ),
    Column(
        "option", "text", "Matrix column key, or for migration the framework moved to; else empty."
    ),
    Column(
        "dimension", "text", "Key of the question the row is broken down by; empty on overall rows."
    ),
    Column("segment", "text", "Choice key of the dimension; empty on overall rows."),
    Column(
        "base_n",
        "integer",
        "Respondents asked who answered (the denominator), unweighted.",
        withheld="base",
    ),
    Column("count", "integer", "Respondents giving this answer, unweighted.", withheld="count"),
    Column(
        "share",
        "fraction",
        "count / base_n, a fraction from 0 to 1; for change, later minus earlier wave.",
        withheld="value",
    ),
    Column(
        "ci_low",
        "fraction",
        "Lower end of the 95% Wilson interval (Newcombe for change).",
        withheld="value",
    ),
    Column(
        "ci_high",
        "fraction",
        "Upper end of the 95% Wilson interval (Newcombe for change).",
        withheld="value",
    ),
    Column(
        "share_weighted",
        "fraction",
        "Share after weighting, when the series is weighted.",
        withheld="value",
    ),
    Column(
        "ci_low_weighted",
        "fraction",
        "Lower end of the weighted share's 95% interval (on n_eff).",
        withheld="value",
    ),
    Column(
        "ci_high_weighted",
        "fraction",
        "Upper end of the weighted share's 95% interval (on n_eff).",
        withheld="value",
    ),
    Column(
        "n_eff",
        "number",
        "Effective sample size, (sum of weights)^2 / sum of squared weights.",
        withheld="base",
    ),
    Column("flag", "text", "Why a value is missing or how to read it; empty when published as is."),
    Column("measure", "text", "share, change, retention or migration."),
    Column("compare_wave", "text", "For change: the earlier wave compared with."),
    Column("design_effect", "number", "Variance inflation from weighting (1 when unweighted)."),
    Column(
        "synthetic",
        "boolean",
        "true when the series is synthetic demo data describing no real people.",
        per_series=True,
    ),
)
COLUMNS = {column.name: column for column in CELL_SCHEMA}
# Every public column, in the order cells.csv writes them.
PUBLIC_COLUMNS = tuple(column.name for column in CELL_SCHEMA)
# The public columns stored on each cell, read from the database in this order.
STORED_COLUMNS = tuple(column.name for column in CELL_SCHEMA if not column.per_series)
VALUE_COLUMNS = tuple(column.name for column in CELL_SCHEMA if column.withheld == "value")
COUNT_COLUMNS = tuple(column.name for column in CELL_SCHEMA if column.withheld == "count")
BASE_COLUMNS = tuple(column.name for column in CELL_SCHEMA if column.withheld == "base")


# When a withheld column's value is public; otherwise it goes out as None. The rules are data
# so that Python (`public_values`) and SQL (`shown_sql`) read the same ones.
@dataclass(frozen=True)
class FlagIn:
    flags: frozenset[str]


@dataclass(frozen=True)
class FlagNotIn:
    flags: frozenset[str]


@dataclass(frozen=True)
class Stored:
    """The cell stores a value (not None) in this column."""

    column: str


@dataclass(frozen=True)
class AnyOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class AllOf:
    rules: tuple[Rule, ...]


Rule = FlagIn | FlagNotIn | Stored | AnyOf | AllOf

# Low-n-eff withholds the share and its intervals but not the count: protection and the audit
# treat that count as published, so the public must see exactly that. Unknown flags (an older
# snapshot's, or one added later) hide values and counts: a new flag never leaks.
SHOWN_WHEN: dict[str, Rule] = {
    "value": FlagIn(SHOWN_FLAGS),
    "count": FlagIn(COUNT_SHOWN_FLAGS),
    # A base is withheld where the question was not asked, and n_eff with a base not stored.
    "base": AnyOf(
        (FlagIn(SHOWN_FLAGS), AllOf((FlagNotIn(frozenset({NOT_ASKED})), Stored("base_n"))))
    ),
}


def shows(rule: Rule, flag: str, stored: Collection[str]) -> bool:
    """Whether the rule shows a value of a cell with this flag and these columns stored."""
    match rule:
        case FlagIn(flags):
            return flag in flags
        case FlagNotIn(flags):
            return flag not in flags
        case Stored(column):
            return column in stored
        case AnyOf(rules):
            return any(shows(r, flag, stored) for r in rules)
        case AllOf(rules):
            return all(shows(r, flag, stored) for r in rules)


def _referenced(rule: Rule) -> set[str]:
    match rule:
        case Stored(column):
            return {column}
        case AnyOf(rules) | AllOf(rules):
            return set().union(*(_referenced(r) for r in rules))
    return set()


WITHHELD = tuple(
    (column.name, SHOWN_WHEN[column.withheld]) for column in CELL_SCHEMA if column.withheld
)
# The columns the rules look at besides the flag, in a fixed order.
RULE_COLUMNS = tuple(sorted(set().union(*(_referenced(rule) for _, rule in WITHHELD))))


@lru_cache(maxsize=256)
def _withheld(flag: str, stored: frozenset[str]) -> tuple[str, ...]:
    return tuple(name for name, rule in WITHHELD if not shows(rule, flag, stored))


def public_values(values: dict[str, Any]) -> dict[str, Any]:
    """The cell's values with everything its flag withholds (`SHOWN_WHEN`) set to None."""
    flag = values.get("flag") or ""
    stored = frozenset(name for name in RULE_COLUMNS if values.get(name) is not None)
    withheld = _withheld(flag, stored)
    if not withheld:
        return values
    return {**values, **dict.fromkeys(withheld)}


def shown_sql(rule: Rule, flag: str = "COALESCE(flag, '')") -> tuple[str, list[str]]:
    """The rule as an SQL condition over the cell's row, with its `%s` parameters: true
    exactly where `shows` is, and never NULL (the flag is coalesced, columns tested for NULL)."""
    match rule:
        case FlagIn(flags) | FlagNotIn(flags):
            negate = isinstance(rule, FlagNotIn)
            if not flags:
                return ("TRUE" if negate else "FALSE"), []
            placeholders = ", ".join(["%s"] * len(flags))
            return f"{flag} {'NOT ' if negate else ''}IN ({placeholders})", sorted(flags)
        case Stored(column):
            return f'"{column}" IS NOT NULL', []
        case AnyOf(rules) | AllOf(rules):
            parts = [shown_sql(r, flag) for r in rules]
            joiner = " OR " if isinstance(rule, AnyOf) else " AND "
            empty = "FALSE" if isinstance(rule, AnyOf) else "TRUE"
            sql = joiner.join(f"({part})" for part, _ in parts) or empty
            return f"({sql})", [param for _, params in parts for param in params]
