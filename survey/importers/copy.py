"""The one bulk writer: COPY on PostgreSQL, one executemany elsewhere (the embedded SQLite).

Importers write responses and answers with it, and `results` writes a snapshot's cells with
it. Rows are tuples of database-ready values in the order of `columns`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model
from tqdm import tqdm


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
        cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)


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


def objects_copy(objects: Sequence[Model], *, progress: bool = False) -> None:
    """Insert unsaved model instances of one model in bulk, setting their primary keys."""
    if not objects:
        return
    meta = objects[0]._meta
    fields = list(meta.concrete_fields)
    if objects[0].pk is None:
        pks = ids_reserve(table=meta.db_table, count=len(objects), column=meta.pk.column)
        for obj, pk in zip(objects, pks, strict=True):
            obj.pk = pk
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    # Values of these field types go to the database as they are; the rest are prepared by
    # their field (dates, decimals, JSON), which costs a call per value.
    plain = (
        "AutoField",
        "BigAutoField",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "BigIntegerField",
        "CharField",
        "SlugField",
        "TextField",
        "ForeignKey",
        "OneToOneField",
    )
    prepare = [None if f.get_internal_type() in plain and not f.choices else f for f in fields]
    attnames = [f.attname for f in fields]
    for obj in objects:
        for f in stamped:
            f.pre_save(obj, add=True)

    def rows() -> Iterable[list[Any]]:
        for obj in tqdm(
            objects,
            unit="row",
            desc=f"Writing {meta.model_name}s",
            disable=not progress,
            leave=False,
        ):
            state = obj.__dict__
            yield [
                state[name] if f is None else f.get_db_prep_save(state[name], connection)
                for f, name in zip(prepare, attnames, strict=True)
            ]

    rows_copy(table=meta.db_table, columns=[f.column for f in fields], rows=rows())
