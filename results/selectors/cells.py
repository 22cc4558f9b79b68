"""Read-only queries over published snapshots and their cells, and what each flag withholds.

Public pages, CSVs and the API read only what is here: the latest *published* snapshot of a
series and its cells, never responses. Every cell passes through `cell_public` on its way
out, so a value the disclosure step left in a suppressed cell still cannot leak.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Max, QuerySet

from survey.models import Series

from ..disclosure.columns import STORED_COLUMNS, public_values
from ..disclosure.flags import FLAG_MARKS, FLAGS
from ..models import Cell, Snapshot

FLAG_MEANINGS = FLAGS
CELL_FIELDS = STORED_COLUMNS


def flag_meaning(flag: str) -> str:
    return FLAG_MEANINGS.get(flag, f"Not shown ({flag}).")


def flag_mark(flag: str) -> str:
    """A withheld value's word or two for a table cell (its meaning belongs below the table)."""
    return FLAG_MARKS.get(flag, "not shown")


# The cell's values with everything its flag withholds set to None (the one schema's mask).
cell_public = public_values


def _published(slug: str) -> QuerySet[Snapshot]:
    return (
        Snapshot.objects.published()
        .filter(series__slug=slug, status=Snapshot.Status.READY)
        .order_by("-published_at", "-pk")
    )


def published_snapshot(slug: str) -> Snapshot | None:
    """The latest published snapshot of the series, with its series, in one query."""
    return _published(slug).select_related("series").first()


_SLUG = "\x00slug"  # stands for the slug in the compiled statement (no slug holds a NUL)
_published_id_sql: dict[str, tuple[str, tuple[Any, ...]]] = {}  # per database vendor


def published_snapshot_id(slug: str) -> int | None:
    """The id alone of the latest published snapshot (no summary to read and decode).

    Every report visit asks, so the ORM's statement is compiled once per process and then
    run as it is: building it took three times what PostgreSQL takes to answer."""
    compiled = _published_id_sql.get(connection.vendor)
    if compiled is None:
        query = _published(_SLUG).values_list("pk", flat=True)[:1].query
        sql, params = query.get_compiler(connection=connection).as_sql()
        compiled = _published_id_sql[connection.vendor] = (sql, tuple(params))
    sql, params = compiled
    with connection.cursor() as cursor:
        cursor.execute(sql, [slug if param == _SLUG else param for param in params])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def published_series() -> QuerySet[Series]:
    """Series with a published snapshot, each annotated with when it was last published."""
    return (
        Series.objects.filter(
            snapshots__published_at__isnull=False, snapshots__status=Snapshot.Status.READY
        )
        .annotate(last_published_at=Max("snapshots__published_at"))
        .order_by("title", "slug")
    )


def snapshot_cells(snapshot: Snapshot, filters: dict[str, str] | None = None) -> QuerySet[Cell]:
    cells = Cell.objects.filter(snapshot=snapshot).order_by("pk")
    for name, value in (filters or {}).items():
        cells = cells.filter(**{name: value})
    return cells


def snapshot_cell_rows(snapshot: Snapshot, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
    """Every cell of the snapshot as public values, read in chunks by one server-side cursor."""
    rows = snapshot_cells(snapshot).values_list(*CELL_FIELDS)
    for values in rows.iterator(chunk_size=chunk_size):
        yield cell_public(dict(zip(CELL_FIELDS, values, strict=True)))


def snapshot_age_seconds(published_at: datetime, now: datetime) -> int:
    return max(0, int((now - published_at).total_seconds()))
