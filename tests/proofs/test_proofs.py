"""Proofs that the stack keeps working under load and faults (see conftest.py for the stack).

Each test says what it proves. The CI variant is short (PROOF_SECONDS, default 20 s per run,
PROOF_RESPONDENTS concurrent respondents, default 16); the crowd of PROOF_CROWD respondents,
default 200, runs for PROOF_CROWD_SECONDS, default 60 s. bench/README.md has the figures.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.proofs.conftest import ROOT, complete_census_count
from tests.respondents import crowd_for, summary

pytestmark = pytest.mark.proof

SECONDS = float(os.environ.get("PROOF_SECONDS", "20"))
RESPONDENTS = int(os.environ.get("PROOF_RESPONDENTS", "16"))
CROWD = int(os.environ.get("PROOF_CROWD", "200"))
CROWD_SECONDS = float(os.environ.get("PROOF_CROWD_SECONDS", "60"))
# Seconds a simulated person spends on a page, on average (uniform from half to one and a
# half times it). Real respondents take 20 s or more on a Census page; 10 s is twice their
# pace: 200 of them complete about 4.5 Censuses a second (about 55 HTTP requests a second).
THINK = float(os.environ.get("PROOF_THINK", "10"))


def get(url: str, timeout: float = 30) -> tuple[int, str, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (test server)
            return answer.status, answer.read().decode(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), time.monotonic() - started


def drafts_and_duplicates(stack) -> tuple[int, int]:
    drafts = stack.sql(
        "SELECT count(*) FROM survey_response r JOIN survey_survey s ON s.id = r.survey_id "
        "WHERE s.slug = 'census-2026' AND r.status = 'draft'"
    )[0][0]
    duplicates = stack.sql(
        "SELECT count(*) FROM (SELECT survey_id, respondent_hash FROM survey_response "
        "GROUP BY 1, 2 HAVING count(*) > 1) d"
    )[0][0]
    return drafts, duplicates


def published_count(stack, series: str) -> int | None:
    rows = stack.sql(
        "SELECT s.response_count FROM results_snapshot s JOIN survey_series x "
        "ON x.id = s.series_id WHERE x.slug = %s AND s.published_at IS NOT NULL "
        "ORDER BY s.published_at DESC LIMIT 1",
        series,
    )
    return rows[0][0] if rows else None


def wait_until(predicate, timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def test_load_through_the_html_pages_loses_nothing_and_serves_no_5xx(stack):
    """Proves: gunicorn with production settings, PostgreSQL, Redis and a worker serve
    RESPONDENTS concurrent respondents completing the Census page by page for SECONDS s
    with 0 5xx; completed responses in the database == thank-you pages served; no draft
    left behind and no respondent stored twice; the report follows on its own."""
    before = complete_census_count(stack)
    result = summary(crowd_for(stack.base, seconds=SECONDS, concurrency=RESPONDENTS))
    print("load:", json.dumps(result))
    assert result["server_errors"] == 0, result
    assert result["thanked"] == result["respondents"] > 0, result
    assert complete_census_count(stack) - before == result["thanked"]
    assert drafts_and_duplicates(stack) == (0, 0)
    total = complete_census_count(stack)
    assert wait_until(lambda: published_count(stack, "ml-frameworks") == total, 60), (
        published_count(stack, "ml-frameworks"),
        total,
        stack.log("worker"),
    )


def crowd_in_a_process(base: str, *, seconds: float, concurrency: int, think: float) -> dict:
    """The crowd from a process of its own: its threads never wait on this one's GIL, nor
    this process's threads (the PostgreSQL proxy) on theirs."""
    command = [sys.executable, "-m", "tests.respondents", base, "--seconds", str(seconds),
               "--concurrency", str(concurrency), "--think", str(think)]  # fmt: skip
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 300, check=True
    )
    return json.loads(done.stdout)


def test_two_hundred_respondents_through_the_proxy_keep_p99_under_a_second(stack):
    """Proves: CROWD respondents at once (200 by default), each spending THINK s on a page
    on average, completing the whole Census through nginx and gunicorn as the compose file
    runs them: every request answered in under a second at the 99th percentile, 0 5xx,
    every thank-you page with its complete response, no respondent stored twice.

    The worker refreshes the report as the compose file runs it (every 60 s), not every 3 s
    as for the other proofs: a rebuild with its disclosure audit takes about a core for a
    second or two, and on this 2-core machine rebuilding nonstop would measure that."""
    before = complete_census_count(stack)
    stack.kill_worker(signal.SIGTERM)
    stack.start_worker("crowd-worker", env={"TALLY_REFRESH_SECONDS": "60"})
    try:
        result = crowd_in_a_process(
            stack.base, seconds=CROWD_SECONDS, concurrency=CROWD, think=THINK
        )
    finally:
        stack.kill_worker(signal.SIGTERM)
        stack.start_worker()
    print("crowd:", json.dumps(result))
    assert result["server_errors"] == 0 and result["tracebacks"] == 0, result
    assert result["thanked"] == result["respondents"] > 0, result
    assert result["p99"] < 1.0, result
    assert complete_census_count(stack) - before == result["thanked"]
    assert drafts_and_duplicates(stack) == (0, 0)


class SlowBody:
    """A client that sends a request's headers, then its body one byte every `every` s."""

    def __init__(self, base: str, every: float = 2.0, length: int = 2000) -> None:
        host, port = urllib.parse.urlsplit(base).netloc.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.sock.sendall(
            b"POST /api/v1/surveys/census-2026/responses/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % length
        )
        self.every = every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.sock.sendall(b" ")
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


def probe_times(base: str, seconds: float) -> list[float]:
    """How long /healthz and the Census' first page take, asked every half second (a
    probe that times out after 3 s counts as 3 s)."""
    took: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in ("/healthz", "/s/census-2026/"):
            started = time.monotonic()
            try:
                with urllib.request.urlopen(base + path, timeout=3) as answer:  # noqa: S310
                    answer.read()
                took.append(time.monotonic() - started)
            except OSError:
                took.append(3.0)
        time.sleep(0.5)
    return took


def test_slow_body_clients_wait_in_the_proxy_and_cannot_starve_gunicorn(stack):
    """Proves: 12 clients sending a body one byte every 2 s (more than gunicorn's 8 threads)
    starve gunicorn when they reach it directly (the probes time out: the test can fail),
    but through the compose file's nginx they wait in the proxy: /healthz and the first
    Census page keep answering within a second while they trickle."""
    slow = [SlowBody(stack.direct) for _ in range(12)]
    try:
        time.sleep(1)
        direct = probe_times(stack.direct, 5)
    finally:
        for client in slow:
            client.close()
    assert max(direct) >= 3.0, direct  # without the proxy, every thread is held

    time.sleep(2)  # gunicorn notices the closed connections
    slow = [SlowBody(stack.base) for _ in range(12)]
    try:
        time.sleep(1)
        proxied = probe_times(stack.base, 12)
    finally:
        for client in slow:
            client.close()
    print(f"slow clients: direct max {max(direct):.2f} s, proxied max {max(proxied):.2f} s")
    assert max(proxied) < 1.0, proxied


def test_redis_stopped_under_load_rejects_no_response_and_the_report_catches_up(stack):
    """Proves invariant 1: with Redis (broker and cache) stopped for a third of the run,
    respondents keep completing (limits and throttles fall back to per-process counters),
    0 5xx, nothing lost; once Redis is back the report catches up with no one touching it."""
    before = complete_census_count(stack)
    outcomes: list = []
    crowd = threading.Thread(
        target=lambda: outcomes.extend(
            crowd_for(stack.base, seconds=SECONDS, concurrency=RESPONDENTS)
        )
    )
    crowd.start()
    time.sleep(SECONDS / 3)
    stack.redis.stop()
    time.sleep(SECONDS / 3)
    stack.redis.start()
    crowd.join()
    result = summary(outcomes)
    print("redis down:", json.dumps(result))
    assert result["server_errors"] == 0, result
    assert result["thanked"] == result["respondents"] > 0, result
    assert complete_census_count(stack) - before == result["thanked"]
    assert drafts_and_duplicates(stack) == (0, 0)
    assert "per-process counters" in stack.log("web")
    total = complete_census_count(stack)
    assert wait_until(lambda: published_count(stack, "ml-frameworks") == total, 90), (
        published_count(stack, "ml-frameworks"),
        total,
        stack.log("worker"),
    )


def test_postgres_down_under_load_answers_503_quickly_and_recovers_without_a_restart(stack):
    """Proves: with PostgreSQL unreachable (its connections cut, new ones refused) under
    load, respondents get the 503 page within a few seconds, never a 500; /healthz answers
    503 at once; once it is back the same gunicorn serves again (the pool checks its
    connections); every thank-you page served has its complete response."""
    before = complete_census_count(stack)
    outcomes: list = []
    crowd = threading.Thread(
        target=lambda: outcomes.extend(
            crowd_for(stack.base, seconds=SECONDS, concurrency=RESPONDENTS, timeout=30)
        )
    )
    crowd.start()
    time.sleep(SECONDS / 4)
    stack.pg.down()
    try:
        time.sleep(1)
        status, body, took = get(stack.base + "/healthz")
        time.sleep(SECONDS / 4)
    finally:
        stack.pg.up()
        crowd.join()
    assert status == 503 and took < 2.5, (status, took, body[:300])
    result = summary(outcomes)
    print("postgres down:", json.dumps(result))
    statuses = result["statuses"]
    assert statuses.get(500, 0) == 0 and result["tracebacks"] == 0, result
    assert statuses.get(503, 0) > 0, result
    assert result["p99"] < 8, result  # a 503 within the pool's timeout, not a 30 s hang
    assert complete_census_count(stack) - before >= result["thanked"] > 0
    # Recovered without a restart: a fresh respondent completes on the same gunicorn.
    after = summary(crowd_for(stack.base, seconds=3, concurrency=4))
    assert after["server_errors"] == 0 and after["thanked"] > 0, after
    assert get(stack.base + "/healthz")[0] == 200


def test_a_worker_killed_mid_rebuild_leaves_the_report_serving_and_the_job_done_once(stack):
    """Proves: a worker SIGKILLed in the middle of a rebuild leaves the published report
    serving; the job is requeued by the heartbeat's stale cutoff and completed exactly once
    by the next worker within a minute; its cells equal an undisturbed rebuild's."""
    series = "ml-frameworks-demo"
    assert get(f"{stack.base}/reports/{series}/")[0] == 200
    series_id = stack.sql("SELECT id FROM survey_series WHERE slug = %s", series)[0][0]
    # A new accepted answer makes the demo series stale: beat queues its rebuild.
    stack.sql(
        "UPDATE survey_response SET updated_at = now() WHERE id = (SELECT r.id FROM "
        "survey_response r JOIN survey_survey s ON s.id = r.survey_id "
        "WHERE s.series_id = %s ORDER BY r.id LIMIT 1)",
        series_id,
    )
    running = "SELECT id FROM results_rebuildjob WHERE series_id = %s AND status = 'running'"
    assert wait_until(lambda: stack.sql(running, series_id), 60, every=0.05), stack.log("worker")
    job_id = stack.sql(running, series_id)[0][0]
    stack.kill_worker()
    killed_at = time.monotonic()
    assert get(f"{stack.base}/reports/{series}/")[0] == 200  # still serving

    stack.start_worker("worker2")
    done = "SELECT status, attempts, snapshot_id FROM results_rebuildjob WHERE id = %s"
    assert wait_until(lambda: stack.sql(done, job_id)[0][0] == "done", 90), (
        stack.sql(done, job_id),
        stack.log("worker2"),
    )
    assert time.monotonic() - killed_at < 60 + 10  # a minute (and the build itself)
    status, attempts, snapshot_id = stack.sql(done, job_id)[0]
    assert attempts == 2
    published = stack.sql(
        "SELECT count(*) FROM results_snapshot WHERE series_id = %s AND published_at > "
        "(SELECT started_at FROM results_rebuildjob WHERE id = %s)",
        series_id,
        job_id,
    )[0][0]
    assert published == 1  # exactly once

    # An undisturbed rebuild (the command line, under the same job lock) gives the same cells.
    stack.manage("rebuild_reports", "--series", series)
    fresh = stack.sql("SELECT max(id) FROM results_snapshot WHERE series_id = %s", series_id)[0][0]
    columns = ", ".join(
        f'"{name}"'
        for (name,) in stack.sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = "
            "'results_cell' AND column_name NOT IN ('id', 'snapshot_id') ORDER BY column_name"
        )
    )
    cells = f"SELECT {columns} FROM results_cell WHERE snapshot_id = %s ORDER BY {columns}"
    assert stack.sql(cells, snapshot_id) == stack.sql(cells, fresh)
    assert get(f"{stack.base}/reports/{series}/")[0] == 200
