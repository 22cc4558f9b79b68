"""Submission benchmark: the API's whole-response POST against a bare one-row insert view.

Creates its own database next to DATABASE_URL (migrated, Census loaded, open), starts
gunicorn with two sync workers on a free loopback port with the app's settings plus one
bench-only URL (`bench.submit_settings`, `bench.submit_urls`), and drives, one after the
other and for the same time, the floor (`POST /bench/insert/`: one INSERT through the same
pooled connection and middleware) and the real path (`POST /api/v1/surveys/census-2026/
responses/` with a whole valid Census response). Throttles are raised for the run and the
cache uses a Redis database of its own. The load comes from keep-alive `http.client`
connections in threads, or from `wrk` when it is installed and `--client wrk` is given.
gunicorn is always stopped, even on errors.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.scratch import scratch_database, scratch_name

FLOOR_CHANNEL = "bench-floor"
FLOOR_PATH = "bench/insert/"

BENCH_SUFFIX = "_submit"  # after DATABASE_URL's name + "_bench": its own, beside the others
REDIS_URL = "redis://127.0.0.1:6379/7"  # the throttle counters' own database
HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
SUBMIT_PATH = "/api/v1/surveys/census-2026/responses/"
# Every page of the Census answered, the migration branch included (16 questions).
ANSWERS = {
    "role": "ml-engineer",
    "company_size": "1000-9999",
    "industry": "tech",
    "region": "europe",
    "ml_experience": "2-5",
    "company_name": "Example Labs",
    "project_types": ["production-training", "production-inference"],
    "domains": ["llm-nlp", "vision"],
    "frameworks_used": ["pytorch", "jax", "other"],
    "frameworks_used__other": "tinygrad",
    "framework_status": {"pytorch": "new-projects", "tensorflow": "stopped", "jax": "evaluating"},
    "primary_framework": "pytorch",
    "migrated": "yes",
    "migration_from": "tensorflow",
    "migration_to": "pytorch",
    "satisfaction": "4",
    "comment": "Benchmark response.",
}
BODY = json.dumps({"answers": ANSWERS, "channel": "bench"}).encode()


def _environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only"),
        "DJANGO_SETTINGS_MODULE": "bench.submit_settings",
        # A one-second window keeps DRF's per-client history as short as in production.
        "TALLY_API_SUBMIT_RATE": "1000000/s",
        "TALLY_SUBMIT_RATE_PER_HOUR": "100000000",
        "TALLY_DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }


def prepare(env: dict[str, str]) -> None:
    """Migrate, load the Census, make it answerable at once, and store one real submission:
    the floor copies its rows."""
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "from django.test import Client\n"
        "from survey.models import Survey\n"
        "call_command('migrate', verbosity=0)\n"
        "call_command('load_census', verbosity=0)\n"
        "Survey.objects.filter(slug='census-2026').update(min_seconds=0)\n"
        f"answer = Client().post({SUBMIT_PATH!r}, {BODY.decode()!r}, "
        "content_type='application/json')\n"
        "assert answer.status_code == 201, answer.content\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz in time")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to gunicorn's own process group (the arbiter and its workers), then SIGKILL."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


_merge = threading.Lock()


def _post_loop(
    port: int, path: str, deadline: float, counts: dict[int, int], latencies: list[float]
) -> None:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    mine: dict[int, int] = {}
    times: list[float] = []
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            conn.request("POST", path, body=BODY, headers=headers)
            answer = conn.getresponse()
            answer.read()
            status = answer.status
            if answer.will_close:
                conn.close()
        except (OSError, http.client.HTTPException):
            conn.close()
            status = 0
        times.append(time.perf_counter() - started)
        mine[status] = mine.get(status, 0) + 1
    conn.close()
    with _merge:
        for status, n in mine.items():
            counts[status] = counts.get(status, 0) + n
        latencies.extend(times)


def load_python(port: int, path: str, seconds: float, connections: int) -> dict[str, Any]:
    counts: dict[int, int] = {}
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_post_loop, args=(port, path, deadline, counts, latencies))
        for _ in range(connections)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    elapsed = time.monotonic() - started
    latencies.sort()
    ok = sum(n for status, n in counts.items() if 200 <= status < 300)
    return {
        "rps": ok / elapsed,
        "ok": ok,
        "statuses": counts,
        "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0,
    }


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = %s
done = function(summary, latency, requests)
  io.write(string.format("BENCH %%d %%d %%d %%f %%f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
"""


def load_wrk(port: int, path: str, seconds: float, connections: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % json.dumps(BODY.decode()))
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t",
                "2",
                "-c",
                str(connections),
                "-d",
                f"{int(seconds)}s",
                "-s",
                script.name,
                f"http://{HOST}:{port}{path}",
            ],  # fmt: skip
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    requests, errors, duration_us, p50, p99 = line.split()[1:]
    ok = int(requests) - int(errors)
    return {
        "rps": ok / (int(duration_us) / 1e6),
        "ok": ok,
        "statuses": {"errors": int(errors)},
        "p50_ms": float(p50) / 1000,
        "p99_ms": float(p99) / 1000,
    }


def _stored(url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        floor = conn.execute(
            "SELECT count(*) FROM survey_response WHERE channel = %s", [FLOOR_CHANNEL]
        ).fetchone()
        complete = conn.execute(
            "SELECT count(*) FROM survey_response WHERE status = 'complete' AND channel <> %s",
            [FLOOR_CHANNEL],
        ).fetchone()
    return (floor[0] if floor else 0), (complete[0] if complete else 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run submit")
    parser.add_argument("--seconds", type=float, default=20, help="Load time per endpoint.")
    parser.add_argument("--connections", type=int, default=8, help="Keep-alive connections.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers.")
    parser.add_argument(
        "--client", choices=["auto", "python", "wrk"], default="python",
        help="Load generator; auto uses wrk when installed.",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 600:
        parser.error("--seconds must be between 0 and 600")
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    if use_wrk and not shutil.which("wrk"):
        parser.error("wrk is not installed")
    load = load_wrk if use_wrk else load_python
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tally")
    name = scratch_name(server_url) + BENCH_SUFFIX
    with scratch_database(server_url, name, keep=args.keep) as url:
        env = _environment(url)
        server: subprocess.Popen[bytes] | None = None
        try:
            prepare(env)
            port = _free_port()
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--workers",
                    str(args.workers),
                    "--bind",
                    f"{HOST}:{port}",
                    "--log-level",
                    "warning",
                ],  # fmt: skip
                cwd=ROOT,
                env=env,
                start_new_session=True,  # its own process group, stopped as one below
            )
            _wait_ready(port, server)
            results = {}
            for name, path in (("floor", "/" + FLOOR_PATH), ("submit", SUBMIT_PATH)):
                load(port, path, min(3.0, args.seconds), args.connections)  # warm-up, not counted
                results[name] = load(port, path, args.seconds, args.connections)
            floor_rows, complete = _stored(url)
            client = "wrk" if use_wrk else f"python http.client, {args.connections} threads"
            print(f"gunicorn {args.workers} sync workers; client: {client}, "
                  f"{args.connections} connections, {args.seconds:g} s per endpoint")  # fmt: skip
            print(f"{'endpoint':<8} {'req/s':>8} {'ok':>7} {'p50 ms':>7} {'p99 ms':>7}  statuses")
            for name, result in results.items():
                print(f"{name:<8} {result['rps']:>8.0f} {result['ok']:>7} {result['p50_ms']:>7.1f} "
                      f"{result['p99_ms']:>7.1f}  {result['statuses']}")  # fmt: skip
            ratio = (
                results["floor"]["rps"] / results["submit"]["rps"]
                if results["submit"]["rps"]
                else 0
            )
            print(f"floor / submit: {ratio:.1f}x; stored: {floor_rows} floor rows, "
                  f"{complete} complete responses (warm-up included)", flush=True)  # fmt: skip
        finally:
            if server is not None:
                _stop(server)


if __name__ == "__main__":
    main()
