"""cells.csv streamed by PostgreSQL's COPY: the same bytes as the Python writer, nothing withheld.

The Python writer (`csv_lines` over `cell_rows`, which masks through `public_values`) is the
reference; the COPY path is checked against it byte for byte.
"""

import csv
import io
import math
import random
import struct
from unittest import mock

import psycopg
import pytest
from django.db import connection

from results.disclosure.columns import CELL_SCHEMA, public_values
from results.disclosure.flags import FLAGS, HIDDEN_BASE, LOW_N_EFF, NOT_ASKED
from results.exports import CELL_COLUMNS, cell_csv_copy, cell_rows, csv_lines
from results.models import Cell, Snapshot
from results.services import snapshot_build, snapshot_publish
from survey.selectors import voted_proof
from tests.conftest import cast_votes
from tests.results.factories import HOSTILE_KEY, census_snapshot

CELLS = "/reports/ml-frameworks/cells.csv"
# Planted in every column a flag withholds: it must never reach the streamed file.
PLANTED = 0.918273645
PLANTED_COUNT = 4242
UNKNOWN_FLAG = "flag-from-the-future"
TEXTS = [
    "=1+2",
    "+1",
    "-x",
    "@SUM(A1)",
    "|pipe",
    "%x",
    "\tcmd",
    "\rcmd",
    "-0.05",
    "-5\n",
    "-5\n\n",
    "12,5",
    "a=b",
    'say "hi"',
    "a,b",
    "two\nlines",
    "crlf\r\nend",
    " leading space",
    "\\.",
    "\\N",
    "Zürich, naïve café",
    "東京",
    "🙂 emoji",
    "=東京",
    HOSTILE_KEY,
]
FLOATS = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    2.5,
    100.0,
    0.1 + 0.2,
    1 / 3,
    -0.05,
    1e-4,
    1.5e-4,
    9.99e-5,
    1e-5,
    5e-324,
    2.2250738585072014e-308,
    123456789012345.0,
    999999999999999.9,
    1e15,
    1.5e15,
    1234567890123456.7,
    9007199254740993.0,
    1e16,
    1.2345e20,
    1e22,
    1.7976931348623157e308,
    math.nan,
    math.inf,
    -math.inf,
    *(2.0**e for e in range(50, 1024, 3)),  # where the rounding interval is lopsided
    *(-(2.0**e) for e in range(51, 1024, 5)),
]


def python_bytes(snapshot: Snapshot) -> bytes:
    return b"".join(chunk.encode("utf-8") for chunk in csv_lines(CELL_COLUMNS, cell_rows(snapshot)))


def copy_bytes(snapshot: Snapshot) -> bytes:
    return b"".join(cell_csv_copy(snapshot))


def planted_cell(snapshot: Snapshot, flag: str, base_n: int | None, **fields) -> Cell:
    """A cell with a value in every column, the withheld ones included."""
    values = {
        "wave": "2026",
        "question": "frameworks_used",
        "choice": "pytorch",
        "base_n": base_n,
        "count": PLANTED_COUNT,
        "share": PLANTED,
        "ci_low": PLANTED,
        "ci_high": PLANTED,
        "share_weighted": PLANTED,
        "ci_low_weighted": PLANTED,
        "ci_high_weighted": PLANTED,
        "n_eff": PLANTED,
        "design_effect": 1.7,
        **fields,
    }
    return Cell(snapshot=snapshot, flag=flag, **values)


def every_case(snapshot: Snapshot) -> None:
    """Every flag (and one unknown) with and without a stored base, weighted values, hostile
    and odd text in every text column, floats that print differently in the two languages."""
    cells = []
    for flag in [*FLAGS, UNKNOWN_FLAG]:
        for base_n in (None, 0, 1200):
            cells.append(planted_cell(snapshot, flag, base_n, dimension="role", segment="student"))
    text_columns = [c.name for c in CELL_SCHEMA if c.kind == "text" and not c.per_series]
    max_length = {field.name: field.max_length for field in Cell._meta.concrete_fields}
    for text in TEXTS:
        for name in text_columns:  # the flag too: an unknown flag, which hides everything
            fits = text[: max_length[name]]  # measure holds 10 characters
            cells.append(
                planted_cell(snapshot, "", 1200, **{name: fits})
                if name != "flag"
                else planted_cell(snapshot, fits, 1200)
            )
    for value in FLOATS:
        cells.append(
            planted_cell(
                snapshot,
                "",
                1200,
                share=value,
                ci_low=value,
                share_weighted=value,
                n_eff=value,
                design_effect=value,
            )
        )
    cells.append(Cell(snapshot=snapshot, wave="2026", question="domains"))  # all NULL, empty text
    Cell.objects.bulk_create(cells)


@pytest.mark.django_db
@pytest.mark.parametrize("synthetic", [False, True])
def test_the_copy_stream_is_byte_for_byte_the_python_writer(synthetic):
    snapshot = census_snapshot(hostile=True, synthetic=synthetic)
    every_case(snapshot)
    expected = python_bytes(snapshot)
    assert copy_bytes(snapshot) == expected
    assert expected.count(b"\r\n") > snapshot.cells.count()  # the header, rows, quoted CRLF
    flags = {row["flag"] for row in csv.DictReader(io.StringIO(expected.decode("utf-8")))}
    assert flags >= {*FLAGS, UNKNOWN_FLAG}


@pytest.mark.django_db
def test_floats_of_every_magnitude_are_written_as_python_writes_them():
    snapshot = census_snapshot()
    rng = random.Random(2026)
    values = [
        struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(3000)
    ]
    values += [rng.uniform(-1, 1) * 10 ** rng.uniform(-12, 20) for _ in range(3000)]
    values += [float(rng.randrange(-(10**17), 10**17)) for _ in range(1000)]
    values += [rng.randrange(1, 10**6) / rng.randrange(1, 10**6) for _ in range(1000)]
    Cell.objects.bulk_create(
        planted_cell(snapshot, "", 1200, share=value, n_eff=value, design_effect=value)
        for value in values
    )
    assert copy_bytes(snapshot) == python_bytes(snapshot)


@pytest.mark.django_db
def test_the_view_streams_the_copy_bytes_with_one_query_and_one_copy(
    client, django_assert_num_queries
):
    snapshot = census_snapshot(hostile=True)
    every_case(snapshot)
    Cell.objects.bulk_create(
        Cell(snapshot=snapshot, wave="2026", question="domains", choice=f"c{i}")
        for i in range(3000)
    )
    expected = python_bytes(snapshot)
    with (
        mock.patch.object(
            psycopg.Cursor, "copy", autospec=True, side_effect=psycopg.Cursor.copy
        ) as copies,
        django_assert_num_queries(2),  # the snapshot, SET LOCAL jit; the COPY is not counted
    ):
        response = client.get(CELLS)
        chunks = list(response.streaming_content)
    assert copies.call_count == 1
    assert len(chunks) > 3  # streamed in pieces, never the whole file at once
    assert b"".join(chunks) == expected
    assert response["Content-Type"] == "text/csv; charset=utf-8; header=present"
    assert response["Content-Disposition"] == 'attachment; filename="ml-frameworks-cells.csv"'


@pytest.mark.django_db
def test_nothing_a_flag_withholds_reaches_the_streamed_file():
    snapshot = census_snapshot()
    every_case(snapshot)
    body = copy_bytes(snapshot).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(body)))
    stored = list(Cell.objects.filter(snapshot=snapshot).order_by("pk").values(*CELL_COLUMNS[1:-1]))
    assert len(rows) == len(stored)
    withheld = [c.name for c in CELL_SCHEMA if c.withheld]
    checked = 0
    for row, cell in zip(rows, stored, strict=True):
        public = public_values(dict(cell))
        for name in withheld:
            if public[name] is None:
                assert row[name] == "", (name, row)
                checked += 1
    assert checked > 100
    by_flag = {(r["flag"], r["dimension"]): r for r in rows if r["dimension"] == "role"}
    hidden = by_flag[("hidden", "role")]
    assert hidden["count"] == hidden["share"] == hidden["ci_low"] == ""
    assert by_flag[(LOW_N_EFF, "role")]["share"] == ""
    assert by_flag[(HIDDEN_BASE, "role")]["count"] == str(PLANTED_COUNT)
    assert by_flag[(UNKNOWN_FLAG, "role")]["count"] == ""
    not_asked = [r for r in rows if r["flag"] == NOT_ASKED]
    assert not_asked and all(r["base_n"] == r["n_eff"] == "" for r in not_asked)
    # The planted values are out only where their cell's flag shows them.
    shown = sum(1 for cell in stored if public_values(dict(cell))["share"] == PLANTED)
    assert body.count(repr(PLANTED)) == sum(
        sum(1 for name in withheld if public_values(dict(cell))[name] == PLANTED) for cell in stored
    )
    assert shown > 0


@pytest.mark.django_db(transaction=True)  # autocommit, as a request runs
def test_a_stream_given_up_half_way_leaves_the_connection_usable():
    snapshot = census_snapshot()
    Cell.objects.bulk_create(
        Cell(snapshot=snapshot, wave="2026", question="domains", choice=f"c{i}")
        for i in range(5000)
    )
    stream = cell_csv_copy(snapshot)
    next(stream), next(stream)
    stream.close()  # the client went away: the COPY is cancelled
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM results_cell WHERE snapshot_id = %s", [snapshot.pk])
        assert cursor.fetchone()[0] == snapshot.cells.count()


def test_the_poll_results_csv_is_the_same_copy_stream(client, poll):
    cast_votes(poll, {"pytorch": 30, "jax": 12})
    snapshot = snapshot_publish(snapshot_id=snapshot_build(series_id=poll.series_id).pk)

    response = client.get(f"/p/{poll.slug}/results.csv?voted={voted_proof(poll_id=poll.pk)}")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == python_bytes(snapshot)
