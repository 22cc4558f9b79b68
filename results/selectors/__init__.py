"""Read-only queries over published snapshots, and the report assembled from them.

Public pages, CSVs and the API read only what is here (`cells`, `summary`, `report`): the
latest *published* snapshot of a series and its cells, never responses.
"""

from .cells import (
    CELL_FIELDS,
    FLAG_MEANINGS,
    cell_public,
    flag_meaning,
    published_series,
    published_snapshot,
    published_snapshot_id,
    snapshot_age_seconds,
    snapshot_cell_rows,
    snapshot_cells,
)
from .polls import PollResults, Standing, poll_results
from .report import (
    HEADLINE_QUESTION,
    ChartData,
    Report,
    WaveState,
    breakdown_name,
    report_build,
    series_shortfalls,
    wave_number,
)
from .summary import Labels, summary_questions, summary_waves, universe_breaks, wording_runs

__all__ = [
    "HEADLINE_QUESTION",
    "CELL_FIELDS",
    "FLAG_MEANINGS",
    "ChartData",
    "Labels",
    "PollResults",
    "Report",
    "Standing",
    "WaveState",
    "breakdown_name",
    "cell_public",
    "flag_meaning",
    "poll_results",
    "published_series",
    "published_snapshot",
    "published_snapshot_id",
    "report_build",
    "series_shortfalls",
    "snapshot_age_seconds",
    "snapshot_cell_rows",
    "snapshot_cells",
    "summary_questions",
    "summary_waves",
    "universe_breaks",
    "wave_number",
    "wording_runs",
]
