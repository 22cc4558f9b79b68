"""CSV export benchmark: /reports/<series>/cells.csv streamed against a COPY TO STDOUT floor.

Creates its own database next to DATABASE_URL, publishes one snapshot per size with N
cells written by COPY, then measures each case in a fresh child process (so one case's
memory does not show in another's numbers):
- first: the real view through Django's WSGI handler, the body consumed chunk by chunk, with
  no file kept for the snapshot yet (the COPY streamed and written to TALLY_EXPORT_DIR, a
  scratch folder of the bench's, on the way);
- kept: the same view once the file is kept (every later download);
- copy: the floor, the same rows as CSV by `COPY (SELECT ...) TO STDOUT`, to a null sink;
- naive: for contrast, the same rows built into one CSV string in memory.
Time is the best of `--repeat` runs; memory is the growth of the peak RSS (VmHWM) over the
RSS before the first run, and the tracemalloc peak of one more, traced run.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.scratch import scratch_database, scratch_name

# The scratch database: DATABASE_URL's name + "_bench_csv" (tally_csv_bench_csv for .../tally_csv),
# so checkouts on databases of their own never drop each other's.
BENCH_SUFFIX = "_csv"
WARM_UP_SLUG = "bench-csv-10"
DEFAULT_CELLS = "100000,1000000"
MIB = 1024 * 1024
COPY_COLUMNS = (
    "measure, wave, compare_wave, question, choice, option, dimension, segment, base_n, "
    '"count", share, ci_low, ci_high, share_weighted, ci_low_weighted, ci_high_weighted, '
    "n_eff, design_effect, flag"
)


def _django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    import django

    django.setup()


def publish(size: int, rng: np.random.Generator) -> tuple[str, int]:
    """A published snapshot of a new series with `size` cells loaded by COPY."""
    import pandas as pd
    from django.db import connection
    from django.utils import timezone

    from results.models import Cell, Snapshot
    from survey.census import CENSUS_SPEC
    from survey.models import Survey
    from survey.services import survey_create

    slug = f"bench-csv-{size}"
    survey = survey_create(
        spec=CENSUS_SPEC,
        series_overrides={"slug": slug, "title": f"Bench CSV {size}"},
        survey_overrides={"slug": slug, "status": Survey.Status.CLOSED},
    )
    now = timezone.now()
    snapshot = Snapshot.objects.create(
        series_id=survey.series_id,
        status=Snapshot.Status.READY,
        built_at=now,
        published_at=now,
        audit_passed=True,
    )
    questions = np.array(["frameworks_used", "primary_framework", "framework_status", "role"])
    choices = np.array(["pytorch", "tensorflow", "keras", "jax", "scikit-learn", "=cmd|x"])
    dimensions = np.array(["", "role", "region", "company_size"])
    segments = np.array(["", "student", "europe", "10000-plus", "ml-engineer"])
    flags = np.array(["", "", "", "hidden", "low-n-eff", "no-detectable-change"])
    chunk = 200_000
    for start in range(0, size, chunk):
        n = min(chunk, size - start)
        base = rng.integers(10, 5000, n)
        count = (base * rng.random(n)).astype(int)
        share = count / base
        frame = pd.DataFrame(
            {
                "snapshot_id": snapshot.pk,
                "measure": "share",
                "wave": rng.choice(["2018", "2022", "2026"], n),
                "compare_wave": "",
                "question": rng.choice(questions, n),
                "choice": rng.choice(choices, n),
                "option": "",
                "dimension": rng.choice(dimensions, n),
                "segment": rng.choice(segments, n),
                "base_n": base,
                "count": count,
                "share": share,
                "ci_low": share * 0.9,
                "ci_high": np.minimum(share * 1.1, 1.0),
                "share_weighted": None,
                "ci_low_weighted": None,
                "ci_high_weighted": None,
                "n_eff": base.astype(float),
                "design_effect": 1.0,
                "flag": rng.choice(flags, n),
                "reason": "",
            }
        )
        buffer = io.StringIO()
        frame.to_csv(buffer, sep="\t", header=False, index=False, na_rep="\\N")
        columns = ", ".join(f'"{name}"' for name in frame.columns)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {Cell._meta.db_table} ({columns}) FROM STDIN") as copy,
        ):
            copy.write(buffer.getvalue())
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Cell._meta.db_table}")
    return slug, snapshot.pk


# The cases, each run in a child process that has already set Django up.


def _stream(slug: str, snapshot_id: int) -> int:
    """The real view through the WSGI handler; returns the bytes received."""
    from wsgiref.util import setup_testing_defaults

    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    environ: dict[str, Any] = {"PATH_INFO": f"/reports/{slug}/cells.csv", "HTTP_HOST": "127.0.0.1"}
    setup_testing_defaults(environ)
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)

    body = application(environ, start_response)
    received = 0
    try:
        for chunk in body:
            received += len(chunk)
    finally:
        body.close()
    if not statuses[0].startswith("200"):
        raise RuntimeError(f"cells.csv answered {statuses[0]}")
    return received


def _first(slug: str, snapshot_id: int) -> int:
    """The view with nothing kept yet: the COPY streamed, and written to its file."""
    for entry in os.scandir(os.environ["TALLY_EXPORT_DIR"]):
        os.unlink(entry.path)
    return _stream(slug, snapshot_id)


def _copy(slug: str, snapshot_id: int) -> int:
    """The floor: the same columns as CSV straight from PostgreSQL, to a null sink."""
    import psycopg

    received = 0
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cursor:
        query = (
            f"COPY (SELECT {COPY_COLUMNS} FROM results_cell WHERE snapshot_id = {int(snapshot_id)} "
            "ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)"
        )
        with cursor.copy(query) as copy:
            for data in copy:
                received += len(data)
    return received


def _naive(slug: str, snapshot_id: int) -> int:
    """The whole CSV built in memory from the same rows (what the streamed view avoids)."""
    from results.exports import CELL_COLUMNS, cell_rows, safe_value
    from results.models import Snapshot

    snapshot = Snapshot.objects.select_related("series").get(pk=snapshot_id)
    rows = list(cell_rows(snapshot))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CELL_COLUMNS)
    writer.writerows([safe_value(value) for value in row] for row in rows)
    return len(buffer.getvalue().encode("utf-8"))


CASES: dict[str, Callable[[str, int], int]] = {
    "first": _first,
    "kept": _stream,
    "copy": _copy,
    "naive": _naive,
}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(case: str, slug: str, snapshot_id: int, repeat: int) -> dict[str, Any]:
    from django.db import connection

    from results.models import Snapshot

    run = CASES[case]
    # Warm up on a tiny snapshot: imports, URL resolution and connections do not count.
    warm = Snapshot.objects.get(series__slug=WARM_UP_SLUG)
    run(WARM_UP_SLUG, warm.pk)
    if case == "kept":
        run(slug, snapshot_id)  # the first download, which keeps the file
    executed: list[str] = []

    def count(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        executed.append(sql)
        return execute(sql, *args)

    rss_before = _status_kib("VmRSS")
    try:  # reset the peak to the current RSS (Linux 4.0+); else the growth is understated
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass
    best = float("inf")
    size = 0
    with connection.execute_wrapper(count):
        for _ in range(repeat):
            started = time.perf_counter()
            size = run(slug, snapshot_id)
            best = min(best, time.perf_counter() - started)
    rss_growth = (_status_kib("VmHWM") - rss_before) * 1024
    tracemalloc.start()
    run(slug, snapshot_id)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": best,
        "bytes": size,
        "rss_growth": rss_growth,
        "traced_peak": traced_peak,
        "queries": len(executed) // repeat,
    }


def _measure(url: str, case: str, slug: str, snapshot_id: int, repeat: int) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": url}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.csv_export",
            "--child",
            case,
            slug,
            str(snapshot_id),
            str(repeat),
        ],  # fmt: skip
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        case, slug, snapshot_id, repeat = argv[1], argv[2], int(argv[3]), int(argv[4])
        _django(os.environ["DATABASE_URL"])
        print(json.dumps(child(case, slug, snapshot_id, repeat)), flush=True)
        return
    parser = argparse.ArgumentParser(prog="python -m bench.run csv")
    parser.add_argument("--cells", default=DEFAULT_CELLS, help="Cells per snapshot, e.g. 100000")
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs per case (best kept).")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.cells.split(",") if s]
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tally")
    name = scratch_name(server_url) + BENCH_SUFFIX
    exports = tempfile.mkdtemp(prefix="tally-bench-exports-")
    os.environ["TALLY_EXPORT_DIR"] = exports  # the children's too
    with scratch_database(server_url, name, keep=args.keep) as url:
        _django(url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        rng = np.random.default_rng(2026)
        publish(10, rng)  # the children's warm-up snapshot
        print(f"{'cells':>9} {'MiB out':>8} {'copy s':>7} {'first s':>8} {'ratio':>6} "
              f"{'kept s':>7} {'ratio':>6} {'first RSS+':>10} {'traced':>7} {'kept RSS+':>9} "
              f"{'naive RSS+':>10} {'traced':>7} {'queries':>7}")  # fmt: skip
        for size in sizes:
            slug, snapshot_id = publish(size, rng)
            from django.db import connections

            connections.close_all()
            floor = _measure(url, "copy", slug, snapshot_id, args.repeat)
            first = _measure(url, "first", slug, snapshot_id, args.repeat)
            kept = _measure(url, "kept", slug, snapshot_id, args.repeat)
            naive = _measure(url, "naive", slug, snapshot_id, 1)
            assert first["bytes"] == kept["bytes"], (first, kept)
            print(f"{size:>9} {first['bytes'] / MIB:>8.1f} {floor['seconds']:>7.2f} "
                  f"{first['seconds']:>8.2f} {first['seconds'] / floor['seconds']:>5.1f}x "
                  f"{kept['seconds']:>7.2f} {kept['seconds'] / floor['seconds']:>5.2f}x "
                  f"{first['rss_growth'] / MIB:>10.1f} {first['traced_peak'] / MIB:>7.1f} "
                  f"{kept['rss_growth'] / MIB:>9.1f} "
                  f"{naive['rss_growth'] / MIB:>10.1f} {naive['traced_peak'] / MIB:>7.1f} "
                  f"{first['queries']:>7}", flush=True)  # fmt: skip
    shutil.rmtree(exports, ignore_errors=True)


if __name__ == "__main__":
    main()
