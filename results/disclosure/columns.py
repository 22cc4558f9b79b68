"""The public columns of a cell: the one schema the CSVs, the API, the charts and the audit use.

Each column says what it holds, its type, and what a flag withholds from it. `cells.csv`
writes every column in this order, the API's cell shape and the chart CSVs are derived from
it, and `public_values` is the one place that masks a hidden cell on its way out. A column
added here appears everywhere at once; a column that is not here is never public (the cell's
`reason`, for one, is for admins only).
"""

from __future__ import annotations

from dataclasses import dataclass
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


def public_values(values: dict[str, Any]) -> dict[str, Any]:
    """The cell's values with everything its flag withholds set to None.

    Low-n-eff withholds the share and its intervals but not the count: protection and the
    audit treat that count as published, so the public must see exactly that. Unknown flags
    (an older snapshot's, or one added later) hide everything: a new flag never leaks.
    """
    flag = values.get("flag") or ""
    if flag in SHOWN_FLAGS:
        return values
    masked = dict(values)
    for name in VALUE_COLUMNS:
        masked[name] = None
    if flag not in COUNT_SHOWN_FLAGS:
        for name in COUNT_COLUMNS:
            masked[name] = None
    if flag == NOT_ASKED or values.get("base_n") is None:
        for name in BASE_COLUMNS:
            masked[name] = None
    return masked
