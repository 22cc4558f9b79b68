"""Report benchmark: the report page and cells.csv of a published snapshot built from 1k and
from 1M responses, against a view that returns a constant, in the same process.

Creates its own database next to DATABASE_URL (dropped at the end unless `--keep`), loads one
synthetic Census wave per size with `bench.rebuild.load`, builds and publishes its snapshot,
then times requests through Django's test client (the whole middleware stack, the real
views; the CSV body consumed chunk by chunk): a warm-up, then `--requests` requests per case;
mean and p99 per request. Reports read published snapshots only, so their time should not
depend on the number of responses.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from bench.rebuild import load
from bench.scratch import scratch_database, scratch_name

BENCH_SUFFIX = "_report"  # after DATABASE_URL's name + "_bench": tally_csv_bench_report
DEFAULT_SIZES = "1000,1000000"
CONSTANT_PATH = "/bench/constant/"


def _time(client, path: str, requests: int) -> tuple[float, float, int]:  # noqa: ANN001
    for _ in range(3):
        _consume(client.get(path))
    times = []
    size = 0
    for _ in range(requests):
        started = time.perf_counter()
        size = _consume(client.get(path))
        times.append(time.perf_counter() - started)
    times.sort()
    return sum(times) / len(times), times[min(len(times) - 1, int(0.99 * len(times)))], size


def _consume(response) -> int:  # noqa: ANN001
    assert response.status_code == 200, (response.status_code, response.content[:300])
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run report")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="Responses per series.")
    parser.add_argument("--requests", type=int, default=50, help="Timed requests per case.")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tally")
    with scratch_database(url, scratch_name(url) + BENCH_SUFFIX, keep=args.keep) as bench_url:
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.report_settings"
        os.environ["DATABASE_URL"] = bench_url
        os.environ.setdefault("SECRET_KEY", "bench-only")
        os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
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
        constant, constant_p99, _ = _time(client, CONSTANT_PATH, args.requests)
        print(f"{'case':<28} {'mean ms':>8} {'p99 ms':>8} {'bytes':>10} {'vs constant':>12}")
        print(f"{'constant view':<28} {constant * 1000:>8.2f} {constant_p99 * 1000:>8.2f}")
        for size, slug in slugs.items():
            for name, path in (
                ("page", f"/reports/{slug}/"),
                ("cells.csv", f"/reports/{slug}/cells.csv"),
            ):  # noqa: E501
                mean, p99, size_bytes = _time(client, path, args.requests)
                print(f"{f'{name}, {size} responses':<28} {mean * 1000:>8.2f} {p99 * 1000:>8.2f} "
                      f"{size_bytes:>10} {constant / mean:>11.2f}x", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
