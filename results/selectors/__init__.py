"""Read-only queries over published snapshots, and the report assembled from them.

Public pages, CSVs and the API read only what is here (`cells`, `summary`, `report`): the
latest *published* snapshot of a series and its cells, never responses.
"""

from .cells import (
    CELL_FIELDS,
    FLAG_MEANINGS,
    SHOWN_FLAGS,
    VALUE_FIELDS,
    cell_public,
    flag_meaning,
    published_series,
    published_snapshot,
    snapshot_age_seconds,
    snapshot_cell_rows,
    snapshot_cells,
)
from .polls import PollResults, Standing, poll_results
from .report import (
    BREAKDOWN_ITEMS,
    HEADLINE_ITEMS,
    HEADLINE_QUESTION,
    NEW_PROJECTS,
    STATUS_QUESTION,
    ChartData,
    Report,
    report_build,
    wave_number,
)
from .summary import Labels, summary_questions, summary_waves, wording_runs

__all__ = [
    "BREAKDOWN_ITEMS",
    "CELL_FIELDS",
    "FLAG_MEANINGS",
    "HEADLINE_ITEMS",
    "HEADLINE_QUESTION",
    "NEW_PROJECTS",
    "SHOWN_FLAGS",
    "STATUS_QUESTION",
    "VALUE_FIELDS",
    "ChartData",
    "Labels",
    "PollResults",
    "Report",
    "Standing",
    "cell_public",
    "flag_meaning",
    "poll_results",
    "published_series",
    "published_snapshot",
    "report_build",
    "snapshot_age_seconds",
    "snapshot_cell_rows",
    "snapshot_cells",
    "summary_questions",
    "summary_waves",
    "wave_number",
    "wording_runs",
]
