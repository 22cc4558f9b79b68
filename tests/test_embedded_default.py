"""`make run`'s embedded default (SQLite, tasks in-process) started as a user would."""

import csv
import io
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tally.sqlite3'}",
        "TALLY_ADDR": f"127.0.0.1:{port}",
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
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_make_run_serves_the_census_and_demo_without_any_service(embedded_server):
    status, home = fetch(embedded_server + "/")
    assert status == 200
    assert "ML Framework Census 2026" in home
    status, survey = fetch(embedded_server + "/s/census-2026/")
    assert status == 200
    assert "Page 1 of 5" in survey


def test_make_run_publishes_the_synthetic_demo_report_and_its_csvs(embedded_server):
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
