"""Rebuild benchmark: snapshot_build against one GROUP BY pass over the same answer rows.

Loads synthetic Census waves of each size with COPY into a dedicated database (created and
dropped here), then times, in the same run, the floor (one SQL GROUP BY over the wave's
answers) and the full rebuild (aggregate, estimate, protect, write, audit). Prints the
rebuild's split: the disclosure solver's part (protecting and auditing, timed by the build
itself) and the rest, and the ratios of the whole and of the rest to the floor.
"""

from __future__ import annotations

import argparse
import io
import os
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from bench.scratch import scratch_database, scratch_name

DEFAULT_SIZES = "10000,100000,1000000"


def _setup(bench_url: str) -> None:
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _copy(table: str, columns: list[str], frame: Any) -> None:
    from django.db import connection

    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t", header=False, index=False, na_rep="\\N")
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())


COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)


def _copy_ids(table: str, who: Any, question: int, what: Any, column: Any) -> None:
    """COPY answer rows in PostgreSQL's binary format, built with numpy (no text parsing)."""
    from django.db import connection

    names = ["response_id", "question_id", "choice_id", "value_text"]
    values = [who, np.full(len(who), question), what]
    if column is not None:
        names.insert(3, "column_id")
        values.append(column)
    layout = [("fields", ">i2")]
    for index in range(len(values)):
        layout += [(f"size{index}", ">i4"), (f"value{index}", ">i8")]
    layout.append(("text", ">i4"))  # value_text: an empty string
    rows = np.zeros(len(who), dtype=np.dtype(layout))
    rows["fields"] = len(names)
    for index, value in enumerate(values):
        rows[f"size{index}"] = 8
        rows[f"value{index}"] = value
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {table} ({', '.join(names)}) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy,
    ):
        copy.write(COPY_SIGNATURE + rows.tobytes() + struct.pack(">h", -1))


@contextmanager
def _without_indexes(table: str) -> Iterator[None]:
    """Drop the table's secondary indexes and foreign keys for a bulk load, then rebuild them.

    The same indexes and (validated) constraints exist afterwards: only the load is faster.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, table],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        foreign_keys = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def load(size: int, rng: np.random.Generator) -> tuple[int, int, int]:
    """One Census wave of `size` responses, about 20 answers each; returns ids and rows."""
    import pandas as pd
    from django.db import connection

    from survey.census import CENSUS_SPEC
    from survey.models import Answer, Response, Survey
    from survey.services import survey_create

    survey = survey_create(
        spec=CENSUS_SPEC,
        series_overrides={"slug": f"bench-{size}", "title": f"Bench {size}"},
        survey_overrides={"slug": f"bench-{size}", "status": Survey.Status.CLOSED},
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Response._meta.db_table}")
        start = cursor.fetchone()[0] + 1
    ids = np.arange(start, start + size)
    responses = pd.DataFrame(
        {
            "id": ids,
            "survey_id": survey.pk,
            "status": "complete",
            "channel": rng.choice(["newsletter", "social", "direct", "conference"], size),
            "respondent_hash": [f"bench-{size}-{i}" for i in range(size)],
            "ip_hash": "",
            "current_page": 5,
            "started_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:10:00Z",
            "submitted_at": "2026-01-01T00:10:00Z",
            "curation": "accepted",
            "exclusion_reason": "",
            "quality_flags": "[]",
            "company_normalized": "",
            "source_row": "",
        }
    )
    _copy(Response._meta.db_table, list(responses.columns), responses)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
            [Response._meta.db_table, int(ids[-1])],
        )
    frames: list[tuple[Any, int, Any, Any]] = []  # ids, question, choices, columns
    for question in survey.questions.prefetch_related("choices"):
        options = [c.pk for c in question.options]
        rows = [c.pk for c in question.rows]
        columns = [c.pk for c in question.columns]
        if question.kind in ("single", "scale") and question.key not in (
            "migration_from",
            "migration_to",
        ):
            asked = rng.random(size) < (0.8 if question.show_if_question_id else 1.0)
            frames.append((ids[asked], question.pk, rng.choice(options, asked.sum()), None))
        elif question.key in ("migration_from", "migration_to"):
            asked = (ids % 10) < 3  # the same 30% answer both
            frames.append((ids[asked], question.pk, rng.choice(options, asked.sum()), None))
        elif question.kind == "multi":
            for choice in options:  # about two picks per respondent
                picked = rng.random(size) < 2 / len(options)
                frames.append((ids[picked], question.pk, np.full(picked.sum(), choice), None))
        elif question.kind == "matrix":
            for row in rows[:6]:  # a few frameworks rated each
                rated = rng.random(size) < 0.6
                frames.append((ids[rated], question.pk, np.full(rated.sum(), row),
                               rng.choice(columns, rated.sum())))  # fmt: skip
    loaded = 0
    with _without_indexes(Answer._meta.db_table):
        for who, qid, what, column in frames:
            _copy_ids(Answer._meta.db_table, who, qid, what, column)
            loaded += len(who)
    with connection.cursor() as cursor:
        # As autovacuum would leave them after a bulk load: statistics and visibility map.
        cursor.execute(f"VACUUM ANALYZE {Response._meta.db_table}, {Answer._meta.db_table}")
        cursor.execute("ANALYZE")
    return survey.series_id, survey.pk, loaded


def floor(survey_id: int) -> float:
    """One GROUP BY pass over the wave's answer rows (the best of three)."""
    from survey.models import Question
    from survey.selectors import answer_counts

    question_ids = list(Question.objects.filter(survey_id=survey_id).values_list("pk", flat=True))
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        answer_counts(survey_id=survey_id, question_ids=question_ids)
        best = min(best, time.perf_counter() - started)
    return best


def rebuild(series_id: int, repeat: int = 3) -> tuple[float, float, int]:
    """The full rebuild's seconds, the solver's part of them (protect and audit), and cells:
    the best of `repeat` whole rebuilds (each writes a new snapshot), as the floor is the best
    of three, so that neither pays the process's first-call costs (imports, query compiling)
    that a long-running worker pays once."""
    from results.services import snapshot_build

    best: tuple[float, float, int] | None = None
    for _ in range(repeat):
        timings: dict[str, float] = {}
        started = time.perf_counter()
        snapshot = snapshot_build(series_id=series_id, timings=timings)
        total = time.perf_counter() - started
        solver = timings.get("protect", 0.0) + timings.get("audit", 0.0)
        if best is None or total < best[0]:
            best = (total, solver, snapshot.cells.count())
    assert best is not None
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run rebuild")
    parser.add_argument(
        "--sizes", default=DEFAULT_SIZES, help="Responses per wave, e.g. 10000,100000"
    )
    parser.add_argument(
        "--database",
        help="The scratch database (created, then dropped); default: DATABASE_URL's name "
        "followed by _bench.",
    )
    parser.add_argument("--repeat", type=int, default=3, help="Rebuilds per size (best kept).")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tally")
    database = args.database or scratch_name(url)
    with scratch_database(url, database, keep=args.keep) as bench_url:
        _setup(bench_url)
        rng = np.random.default_rng(2026)
        print(f"{'responses':>10} {'answers':>11} {'load s':>8} {'floor s':>8} {'rebuild s':>10} "
              f"{'solver s':>9} {'rest s':>7} {'ratio':>7} {'rest/floor':>10} "
              f"{'cells':>7}")  # fmt: skip
        for size in sizes:
            started = time.perf_counter()
            series_id, survey_id, answers = load(size, rng)
            loaded = time.perf_counter() - started
            floor_s = floor(survey_id)
            rebuild_s, solver_s, cells = rebuild(series_id, args.repeat)
            rest_s = rebuild_s - solver_s
            print(f"{size:>10} {answers:>11} {loaded:>8.1f} {floor_s:>8.3f} {rebuild_s:>10.2f} "
                  f"{solver_s:>9.2f} {rest_s:>7.2f} {rebuild_s / floor_s:>6.1f}x "
                  f"{rest_s / floor_s:>9.1f}x {cells:>7}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
