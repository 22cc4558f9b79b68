"""The one bulk writer: COPY on PostgreSQL, one executemany elsewhere (the embedded SQLite).

Importers write responses and answers with it, and `results` writes a snapshot's cells with
it. Rows are tuples of database-ready values in the order of `columns`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection


def rows_copy(*, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows into a table: COPY on PostgreSQL, executemany elsewhere."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})"
        cursor.executemany(sql, rows)  # type: ignore[arg-type]  # any iterable of rows will do


def ids_reserve(*, table: str, count: int, column: str = "id") -> list[int]:
    """`count` new primary keys of a table, for rows written with `rows_copy`.

    PostgreSQL hands them out from the column's sequence. Elsewhere they follow the highest
    id ever used; call it inside the transaction that writes the rows (SQLite holds the
    write lock from the first write, so no other writer can take the same ids).
    """
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, count],
            )
            return [pk for (pk,) in cursor.fetchall()]
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT COALESCE(MAX({quote(column)}), 0) FROM {quote(table)}")
        (highest,) = cursor.fetchone()
        if connection.vendor == "sqlite":
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            used = cursor.fetchone()
            highest = max(highest, used[0] if used else 0)
        return list(range(highest + 1, highest + 1 + count))
