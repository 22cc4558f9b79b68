"""Report benchmark: the report page and cells.csv of a published snapshot built from 1k and
from 1M responses, against a view that returns a constant, in the same process.

Creates its own database next to DATABASE_URL (dropped at the end unless `--keep`), loads one
synthetic Census wave per size with `bench.rebuild.load`, builds and publishes its snapshot,
then times requests through Django's test client (the whole middleware stack, the real
views; the CSV body consumed chunk by chunk): a warm-up, then `--requests` rounds in which
every case takes one request in turn; mean, median and p99 per request, and the constant
view's median over each case's ("constant/case": 1.00x is as fast as the constant view).
Reports read published snapshots only, so their time should not depend on the number of
responses: the last lines divide the largest size's median by the smallest's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time

import numpy as np

from bench.rebuild import load
from bench.scratch import scratch_database, scratch_name

BENCH_SUFFIX = "_report"  # after DATABASE_URL's name + "_bench": tally_csv_bench_report
DEFAULT_SIZES = "1000,1000000"
CONSTANT_PATH = "/bench/constant/"


def _time(client, paths: dict[str, str], rounds: int) -> dict[str, dict[str, float]]:  # noqa: ANN001
    """Per case: mean, median and p99 seconds per request, and the body's bytes.

    The cases take turns, one request each per round, so a change in the machine's load
    (other work on its two cores) falls on all of them alike."""
    for path in paths.values():
        for _ in range(3):
            _consume(client.get(path))
    times: dict[str, list[float]] = {name: [] for name in paths}
    sizes = {}
    for _ in range(rounds):
        for name, path in paths.items():
            started = time.perf_counter()
            sizes[name] = _consume(client.get(path))
            times[name].append(time.perf_counter() - started)
    out = {}
    for name, taken in times.items():
        taken.sort()
        out[name] = {
            "mean": statistics.fmean(taken),
            "median": statistics.median(taken),
            "p99": taken[min(len(taken) - 1, int(0.99 * len(taken)))],
            "bytes": sizes[name],
        }
    return out


def _consume(response) -> int:  # noqa: ANN001
    assert response.status_code == 200, (response.status_code, response.content[:300])
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run report")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="Responses per series.")
    parser.add_argument(
        "--requests", type=int, default=50, help="Timed rounds (one request per case each)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tally")
    with (
        contextlib.ExitStack() as stack,
        scratch_database(url, scratch_name(url) + BENCH_SUFFIX, keep=args.keep) as bench_url,
    ):
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.report_settings"
        os.environ["DATABASE_URL"] = bench_url
        os.environ.setdefault("SECRET_KEY", "bench-only")
        os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
        # cells.csv files kept per snapshot go to a scratch folder, not the checkout's var/.
        os.environ["TALLY_EXPORT_DIR"] = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="tally-bench-exports-")
        )
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client

        from results.services import snapshot_build, snapshot_publish

        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        rng = np.random.default_rng(2026)
        slugs = {}
        for size in sizes:
            started = time.perf_counter()
            series_id, _, answers = load(size, rng)
            snapshot = snapshot_build(series_id=series_id)
            snapshot_publish(snapshot_id=snapshot.pk)
            slugs[size] = snapshot.series.slug
            print(f"loaded and built {size} responses ({answers} answers, "
                  f"{snapshot.cells.count()} cells) in {time.perf_counter() - started:.1f} s",
                  flush=True)  # fmt: skip
        client = Client()
        paths = {"constant view": CONSTANT_PATH}
        for size, slug in slugs.items():
            paths[f"page, {size} responses"] = f"/reports/{slug}/"
            # The same page rendered anew (a query string skips the page cache; an empty
            # wave is the default wave): what every visit cost before the cache.
            paths[f"page rendered, {size} responses"] = f"/reports/{slug}/?wave="
            # (after the warm-up, the file kept for the snapshot: every download but the first)
            paths[f"cells.csv, {size} responses"] = f"/reports/{slug}/cells.csv"
        timed = _time(client, paths, args.requests)
        constant = timed["constant view"]["median"]
        print(f"{'case':<30} {'mean ms':>8} {'median':>8} {'p99 ms':>8} {'bytes':>10} "
              f"{'constant/case':>13}")  # fmt: skip
        for name, t in timed.items():
            print(f"{name:<30} {t['mean'] * 1000:>8.2f} {t['median'] * 1000:>8.2f} "
                  f"{t['p99'] * 1000:>8.2f} {t['bytes']:>10} {constant / t['median']:>12.2f}x",
                  flush=True)  # fmt: skip
        if len(slugs) > 1:
            small, large = min(slugs), max(slugs)
            for what in ("page", "cells.csv"):
                ratio = (
                    timed[f"{what}, {large} responses"]["median"]
                    / timed[f"{what}, {small} responses"]["median"]
                )
                print(f"{what}: {large} responses / {small} responses = {ratio:.2f}x")


if __name__ == "__main__":
    main()
