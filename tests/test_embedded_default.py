"""`make run`'s embedded default (SQLite, tasks in-process) started as a user would."""

import csv
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.respondents import crowd, summary

ROOT = Path(__file__).resolve().parent.parent


REFRESH_SECONDS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (our own server)
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    # One server for the module: it builds the demo snapshot, which takes a while.
    tmp_path = tmp_path_factory.mktemp("embedded")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "SECRET_KEY"}}
    database = tmp_path / "tally.sqlite3"
    env |= {
        "DATABASE_URL": f"sqlite:///{database}",
        "TALLY_ADDR": f"127.0.0.1:{port}",
        "TALLY_REFRESH_SECONDS": str(REFRESH_SECONDS),
    }
    log = open(tmp_path / "run.log", "w+")
    process = subprocess.Popen(
        ["scripts/run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"scripts/run exited early:\n{log.read()[-3000:]}")
            try:
                if fetch(base + "/")[0] == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            log.seek(0)
            pytest.fail(f"server did not answer within 180 s:\n{log.read()[-3000:]}")
        yield base, database
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_make_run_serves_the_census_and_demo_without_any_service(embedded_server):
    embedded_server, _ = embedded_server
    status, home = fetch(embedded_server + "/")
    assert status == 200
    assert "ML Framework Census 2026" in home
    status, survey = fetch(embedded_server + "/s/census-2026/")
    assert status == 200
    assert "Page 1 of 5" in survey


def test_make_run_publishes_the_synthetic_demo_report_and_its_csvs(embedded_server):
    embedded_server, _ = embedded_server
    status, report = fetch(embedded_server + "/reports/ml-frameworks-demo/")
    assert status == 200
    assert "synthetic" in report.lower()
    status, cells = fetch(embedded_server + "/reports/ml-frameworks-demo/cells.csv")
    assert status == 200
    header, first = cells.splitlines()[:2]
    assert header.startswith("series,wave,question,choice,option,dimension,segment,base_n,count")
    assert first.startswith("ml-frameworks-demo,2024,")
    status, codebook = fetch(embedded_server + "/reports/ml-frameworks-demo/codebook.csv")
    assert status == 200
    assert "frameworks_used" in codebook


def test_make_run_publishes_the_real_kaggle_waves_from_the_extracts(embedded_server):
    embedded_server, _ = embedded_server
    status, cells = fetch(embedded_server + "/reports/ml-frameworks/cells.csv")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(cells)))
    tensorflow = next(
        row
        for row in rows
        if row["wave"] == "2022"
        and row["question"] == "frameworks_used"
        and row["choice"] == "tensorflow"
        and row["measure"] == "share"
        and not row["dimension"]
    )
    assert tensorflow["base_n"] == "16240"
    assert float(tensorflow["share"]) == pytest.approx(0.490, abs=0.001)
    assert any(row["wave"] == "2018" for row in rows)
    status, report = fetch(embedded_server + "/reports/ml-frameworks/")
    assert status == 200
    assert "2022" in report and "2018" in report


def _log_tail(database) -> str:
    """The end of the server's log beside the database, to say why a refresh failed."""
    log = Path(database).parent / "run.log"
    return "\n" + log.read_text()[-3000:] if log.exists() else ""


def test_eight_parallel_respondents_on_sqlite_see_no_error_and_reach_the_report(
    embedded_server,
):
    """Proves: the embedded default (SQLite in WAL mode, immediate write transactions, a
    busy timeout) takes 8 respondents writing at once, beside the refresh loop's rebuilds,
    with no 5xx and no traceback; every one of them is stored once, and the supervised
    refresh publishes their answers within two intervals, and says so in /healthz."""
    base, database = embedded_server
    with sqlite3.connect(database, timeout=30) as db:
        # No minimum time, so the respondents post as fast as they can (more contention).
        db.execute("UPDATE survey_survey SET min_seconds = 0 WHERE slug = 'census-2026'")
    outcomes = crowd(base, respondents=24, concurrency=8)
    result = summary(outcomes)
    assert result["server_errors"] == 0, result
    assert result["tracebacks"] == 0, result
    assert result["thanked"] == 24, result
    with sqlite3.connect(database, timeout=30) as db:
        complete, drafts = db.execute(
            "SELECT SUM(r.status = 'complete'), SUM(r.status = 'draft') FROM survey_response r "
            "JOIN survey_survey s ON s.id = r.survey_id WHERE s.slug = 'census-2026'"
        ).fetchone()
    assert (complete, drafts) == (24, 0)

    with sqlite3.connect(database, timeout=30) as db:
        # The series holds the Kaggle waves too: every accepted complete response counts.
        (total,) = db.execute(
            "SELECT count(*) FROM survey_response r JOIN survey_survey s ON s.id = r.survey_id "
            "JOIN survey_series x ON x.id = s.series_id WHERE x.slug = 'ml-frameworks' "
            "AND r.status = 'complete' AND r.curation = 'accepted'"
        ).fetchone()
    deadline = time.monotonic() + 2 * REFRESH_SECONDS + 60  # two intervals, and the build
    while time.monotonic() < deadline:
        with sqlite3.connect(database, timeout=30) as db:
            published = db.execute(
                "SELECT s.response_count FROM results_snapshot s JOIN survey_series x "
                "ON x.id = s.series_id WHERE x.slug = 'ml-frameworks' "
                "AND s.published_at IS NOT NULL ORDER BY s.id DESC LIMIT 1"
            ).fetchone()
        if published and published[0] == total:
            break
        time.sleep(1)
    else:
        pytest.fail(
            f"the Census report did not reach {total} responses: {published}{_log_tail(database)}"
        )
    status, health = fetch(base + "/healthz")
    health = json.loads(health)
    assert status == 200
    assert [r["name"] for r in health["refresh"]] == ["in-process"]
    assert health["refresh_stale"] is False
    status, report = fetch(base + "/reports/ml-frameworks/")
    assert status == 200
