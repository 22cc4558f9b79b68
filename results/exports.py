"""CSV exports: rows from generators, one writer, streamed, safe to open in a spreadsheet.

The writer neutralizes anything a spreadsheet would run as a formula: a text value starting
with = + - @ | % tab or carriage return gets a leading apostrophe (as defusedcsv does, plus
tab and CR, which defusedcsv lets through). Numbers stay numbers, so a negative change is
still -0.05.

On PostgreSQL, cells.csv is written by the server instead (`cell_csv_copy`): one
`COPY (SELECT ...) TO STDOUT (FORMAT csv)` whose SELECT is generated from the cell schema,
each withheld column masked by the schema's own rule (`shown_sql`), text neutralized and
numbers formatted as this writer does them, so the bytes are the same (tests compare them).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import connection, transaction
from django.http import FileResponse, StreamingHttpResponse

from signals.selectors import signal_sources

from . import exportstore
from .disclosure.columns import CELL_SCHEMA, COLUMNS, PUBLIC_COLUMNS, SHOWN_WHEN, Column, shown_sql
from .models import Cell, Snapshot
from .selectors import FLAG_MEANINGS, snapshot_cell_rows, summary_questions, summary_waves

FORMULA_STARTS = ("=", "+", "-", "@", "|", "%", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^-?[0-9][0-9,.]*$")
# The same test in PostgreSQL's regular expressions, where $ matches only at the very end
# (Python's also matches before a final newline).
PLAIN_NUMBER_SQL = r"^-?[0-9][0-9,.]*\n?$"
BATCH = 500
COPY_BATCH = 500  # rows per chunk of the COPY stream (about 70 KB of cells)
CSV_CONTENT_TYPE = "text/csv; charset=utf-8; header=present"

CELL_COLUMNS = list(PUBLIC_COLUMNS)
CODEBOOK_COLUMNS = [
    "record",
    "wave",
    "question",
    "kind",
    "role",
    "key",
    "text",
    "is_dimension",
    "group",
    "published",
    "source",
    "license",
    "attribution",
    "fielded_from",
    "fielded_to",
    "n",
    "synthetic",
]
SYNTHETIC_NOTE = (
    "Synthetic demo data: generated responses that describe no real people. "
    "Do not cite these numbers as findings."
)


def safe_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _safe_row(row: Sequence[Any]) -> list[Any]:
    """safe_value of every value, with the common types (numbers, None, plain text) inline."""
    out = []
    for value in row:
        kind = type(value)
        if kind is float or kind is int:
            out.append(value)
        elif value is None:
            out.append("")
        elif kind is str:
            if value[:1] in FORMULA_START_SET and not PLAIN_NUMBER.match(value):
                value = "'" + value
            out.append(value)
        else:
            out.append(safe_value(value))
    return out


FORMULA_START_SET = frozenset(FORMULA_STARTS)


def csv_lines(fieldnames: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header and the rows as CSV text, BATCH rows per chunk, written by the C writer's
    writerows into one buffer per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_value(name) for name in fieldnames])
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    rows = iter(rows)
    while True:
        batch = list(map(_safe_row, itertools.islice(rows, BATCH)))
        if batch:
            writer.writerows(batch)
        chunk = buffer.getvalue()
        if chunk:
            yield chunk
        if len(batch) < BATCH:
            return
        buffer.seek(0)
        buffer.truncate()


def csv_bytes(fieldnames: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    return (chunk.encode("utf-8") for chunk in csv_lines(fieldnames, rows))


def csv_response(
    filename: str,
    fieldnames: Sequence[str],
    rows: Iterable[Sequence[Any]],
    headers: dict[str, str] | None = None,
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_bytes(fieldnames, rows),
        content_type=CSV_CONTENT_TYPE,
        headers=headers,
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def break_text(found: dict[str, Any]) -> str:
    """A break in words: what changed between which waves, so no change is computed."""
    waves = f"between {found.get('previous_wave')} and {found.get('wave')}"
    if found.get("kind") == "universe":
        everyone = "everyone who reached the question"
        return (
            f"Who was asked changed {waves}: from "
            f"{(found.get('previous_universe') or everyone).rstrip('.')} "
            f"to {(found.get('universe') or everyone).rstrip('.')}. Changes across it are flagged "
            "universe-break and never computed."
        )
    return f"The wording changed {waves}. Changes across it are flagged wording-break."


def _per_series(snapshot: Snapshot) -> dict[str, Any]:
    """The columns that are the same on every row of the snapshot's cells."""
    series = (snapshot.summary or {}).get("series") or {}
    return {
        "series": snapshot.series.slug,
        # every row says so, not only the file name
        "synthetic": bool(series.get("is_synthetic", snapshot.series.is_synthetic)),
    }


def cell_rows(snapshot: Snapshot) -> Iterator[list[Any]]:
    per_series = _per_series(snapshot)
    for cell in snapshot_cell_rows(snapshot):
        cell.update(per_series)
        yield [cell[name] for name in CELL_COLUMNS]


# What the Python writer makes of a stored value, in SQL, before the CSV quoting (which COPY's
# csv format does by the csv module's rules: a field with a comma, a quote, CR or LF quoted,
# quotes doubled). NULL goes out empty; COPY quotes an empty string, so empty text is NULL.
# (Every formula start is one character; strpos of an empty string would be 1, hence first.)
_TEXT_SQL = (
    "CASE WHEN {c} = '' THEN NULL "
    "WHEN strpos(%s, left({c}, 1)) > 0 AND {c} !~ %s THEN '''' || {c} ELSE {c} END"
)
# repr(float) is the shortest string that reads back as the same float, as float8 output is
# below 1e16 (extra_float_digits > 0, the default; below that the ORM reads the same rounded
# text, so both sides still agree), except that it writes "1.0" for integral values, fixed
# notation up to 1e16 (PostgreSQL: 1e15) and nan / inf. In PostgreSQL NaN = NaN and
# Infinity = trunc(Infinity); NULL passes no test and stays NULL.
_FLOAT_SQL = (
    "CASE WHEN {c} <> trunc({c}) THEN "
    "CASE WHEN abs({c}) < 1e15 THEN {c}::text ELSE {c}::text::numeric::text END "
    "WHEN abs({c}) < 1e15 THEN {c}::text || '.0' "
    "WHEN abs({c}) < 1e16 THEN {c}::text::numeric::text || '.0' "
    "WHEN {c} = 'NaN' THEN 'nan' WHEN {c} = 'Infinity' THEN 'inf' "
    "WHEN {c} = '-Infinity' THEN '-inf' WHEN abs({c}) < 'Infinity' THEN {shortest} END"
)
# From 1e16 PostgreSQL may write 17 digits where fewer read back the same: the shortest is
# searched for, k digits at a time: the exact value rounded to k digits (to_char rounds as
# repr does) or, where the float is a power of two (its interval wider above than below),
# the k-digit number one unit further from zero. A candidate beyond the largest float8 is
# none. Rare (no share, interval or n_eff comes near), so its cost does not matter.
_SHORTEST_SQL = (
    "(SELECT t FROM generate_series(1, 17) AS k, "
    "LATERAL (SELECT CASE WHEN k = 1 THEN '9EEEE' ELSE '9.' || repeat('9', k - 1) || 'EEEE' END"
    " AS f) AS f, "
    "LATERAL (SELECT to_char({c}, f) AS s) AS s, "
    "LATERAL (VALUES (1, btrim(s)), (2, btrim(to_char(s::numeric + sign({c})::numeric "
    "* 10::numeric ^ (split_part(s, 'e', 2)::int - k + 1), f)))) AS v(pick, t) "
    "WHERE CASE WHEN abs(t::numeric) <= 1.7976931348623157e308 THEN t::float8 = {c} END "
    "ORDER BY k, pick LIMIT 1)"
)
_INTEGER_FIELDS = {"IntegerField", "PositiveIntegerField", "BigIntegerField", "SmallIntegerField"}


def _csv_sql(column: Column, per_series: dict[str, Any]) -> tuple[str, list[Any]]:
    """The column as the Python writer writes it (before quoting), masked as public_values
    masks it; a per-series column as a literal."""
    if column.per_series:
        text = safe_value(per_series[column.name])
        return ("%s::text", [str(text)]) if text != "" else ("NULL", [])
    c = connection.ops.quote_name(column.name)
    kind = Cell._meta.get_field(column.name).get_internal_type()
    params: list[Any] = []
    if kind == "FloatField":
        sql = _FLOAT_SQL.format(c=c, shortest=_SHORTEST_SQL.format(c=c))
    elif kind in _INTEGER_FIELDS:
        sql = f"{c}::text"
    elif kind == "CharField":
        sql = _TEXT_SQL.format(c=c)  # strpos: a third faster than IN (...) of each start
        params = ["".join(FORMULA_STARTS), PLAIN_NUMBER_SQL]
    else:
        raise TypeError(f"cells.csv cannot write the {kind} column {column.name} in SQL")
    if column.withheld:
        condition, shown = shown_sql(SHOWN_WHEN[column.withheld])
        sql, params = f"CASE WHEN {condition} THEN {sql} END", [*shown, *params]
    return f"{sql} AS {c}", params


def cell_copy_sql(snapshot: Snapshot) -> tuple[str, list[Any]]:
    """`COPY (SELECT <every public column> ...) TO STDOUT (FORMAT csv)` of the snapshot's
    cells in cell_rows' order, and its parameters (psycopg binds them client-side)."""
    per_series = _per_series(snapshot)
    columns = [_csv_sql(column, per_series) for column in CELL_SCHEMA]
    select = ", ".join(sql for sql, _ in columns)
    query = (
        f"COPY (SELECT {select} FROM {Cell._meta.db_table} WHERE snapshot_id = %s ORDER BY id) "
        "TO STDOUT (FORMAT csv)"
    )
    return query, [param for _, params in columns for param in params] + [snapshot.pk]


def cell_csv_copy(snapshot: Snapshot) -> Iterator[bytes]:
    """cells.csv as PostgreSQL writes it, COPY_BATCH rows per chunk.

    The server sends each row in a CopyData message of its own (the protocol promises it),
    ending in LF; the rows are ended with CRLF instead, as the Python writer ends them (a LF
    inside a quoted field stays as it is there too). The header is the Python writer's."""
    yield "".join(csv_lines(CELL_COLUMNS, ())).encode("utf-8")
    query, params = cell_copy_sql(snapshot)
    # JIT would compile the long SELECT list for seconds (its estimated cost is above
    # jit_above_cost from ~100k cells) to save less than that: off for this one statement.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        with cursor.cursor.copy(query, params) as copy:
            while rows := list(itertools.islice(copy, COPY_BATCH)):
                chunk = b"".join(rows)
                if b'"' in chunk:  # a quoted field may hold a LF of its own: row by row
                    yield b"".join([bytes(row[:-1]) + b"\r\n" for row in rows])
                else:
                    yield chunk.replace(b"\n", b"\r\n")


def cells_csv_response(
    snapshot: Snapshot, filename: str, headers: dict[str, str] | None = None
) -> StreamingHttpResponse | FileResponse:
    """The snapshot's cells.csv: the file kept for it, else streamed (by COPY on PostgreSQL,
    by the Python writer elsewhere) and kept on the way (`exportstore`)."""
    path = exportstore.stored(snapshot, "cells")
    if path is not None:
        try:
            response: StreamingHttpResponse | FileResponse = FileResponse(
                path.open("rb"), content_type=CSV_CONTENT_TYPE, headers=headers
            )
        except FileNotFoundError:  # pruned since: written again below
            path = None
    if path is None:
        if connection.vendor == "postgresql":
            chunks = cell_csv_copy(snapshot)
        else:
            chunks = csv_bytes(CELL_COLUMNS, cell_rows(snapshot))
        response = StreamingHttpResponse(
            exportstore.keeping(snapshot, "cells", chunks),
            content_type=CSV_CONTENT_TYPE,
            headers=headers,
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def codebook_rows(snapshot: Snapshot) -> Iterator[list[Any]]:
    """Series, sources, questions and choices per wave, measures, flags and CSV columns."""
    summary = snapshot.summary or {}
    series = summary.get("series") or {}
    synthetic = bool(series.get("is_synthetic", snapshot.series.is_synthetic))

    def row(record: str, **values: Any) -> list[Any]:
        values.setdefault("synthetic", synthetic)  # every row says so, not only the file name
        return [record if name == "record" else values.get(name) for name in CODEBOOK_COLUMNS]

    yield row(
        "series",
        key=snapshot.series.slug,
        text=SYNTHETIC_NOTE if synthetic else snapshot.series.title,
        synthetic=synthetic,
    )
    for wave in summary_waves(summary):
        yield row(
            "source",
            wave=wave["label"],
            key=wave.get("survey"),
            text=wave.get("title"),
            source=wave.get("source"),
            license=wave.get("license"),
            attribution=wave.get("attribution"),
            fielded_from=wave.get("fielded_from"),
            fielded_to=wave.get("fielded_to"),
            n=wave.get("n"),
            synthetic=bool(wave.get("is_synthetic", synthetic)),
        )
    # Outside signals shown beside the survey: published aggregates from elsewhere.
    for signal in signal_sources():
        yield row(
            "signal",
            key=signal.key,
            text=f"{signal.name}. Unit: {signal.unit}. {signal.measures}",
            source=signal.url,
            license=signal.licence,
            attribution=signal.attribution,
        )
    for question in summary_questions(summary):
        key, kind = question["key"], question.get("kind", "")
        common = {
            "question": key,
            "kind": kind,
            "is_dimension": bool(question.get("is_dimension", False)),
            "published": bool(question.get("published", True)),
        }
        for wave, asked in (question.get("waves") or {}).items():
            asked = asked or {}
            yield row("question", wave=wave, key=key, text=asked.get("text"), **common)
            if asked.get("universe"):
                # Who was asked, when not everyone who reached the question.
                yield row("universe", wave=wave, key=key, text=asked["universe"], **common)
            role = "row" if kind == "matrix" else "option"
            coarser = asked.get("grouped_into") or ""
            for choice_key, label, *group in asked.get("choices") or []:
                # A finer question's choice names the coarser one it adds up into.
                into = f"{coarser}:{group[0]}" if coarser and group and group[0] else ""
                yield row("choice", wave=wave, role=role, key=choice_key, text=label,
                          group=into, **common)  # fmt: skip
            for column_key, label in asked.get("columns") or []:
                yield row("choice", wave=wave, role="column", key=column_key, text=label, **common)
    for found in summary.get("breaks") or []:
        if isinstance(found, dict):
            yield row(
                "break",
                wave=found.get("wave"),
                question=found.get("question"),
                key=found.get("kind") or "wording",
                text=break_text(found),
            )
    for measure in Cell.Measure:
        yield row("measure", key=measure.value, text=measure.label)
    for flag, meaning in FLAG_MEANINGS.items():
        if flag:
            yield row("flag", key=flag, text=meaning)
    for name in CELL_COLUMNS:
        yield row("column", key=name, text=COLUMNS[name].meaning)
