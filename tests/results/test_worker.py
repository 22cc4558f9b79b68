import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from config.celery import app
from results.models import RebuildJob, Snapshot
from results.services import rebuild_request
from results.tasks import rebuild_queue
from survey.demo import demo_load
from tests.processes import die_with_parent

ROOT = Path(__file__).resolve().parents[2]


def worker_env() -> dict[str, str]:
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": os.environ["REDIS_URL"],
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "TALLY_CELERY_QUEUE": app.conf.task_default_queue,  # this run's own (tests/conftest.py)
    }


@contextmanager
def running_worker(*extra: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A real Celery worker on the test database, stopped on the way out."""
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("a real worker needs PostgreSQL and Redis")
    app.control.purge()  # messages left by other tests would point at rolled-back rows
    # The log goes to a file: a pipe nobody reads fills up and stops the worker mid-test.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            *extra,
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],  # fmt: skip
        cwd=ROOT,
        env={**worker_env(), **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    process.log = log  # type: ignore[attr-defined]
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def worker_log(process: subprocess.Popen, tail: int = 4000) -> str:
    """The last characters the worker printed."""
    log = process.log  # type: ignore[attr-defined]
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")[-tail:]


@pytest.fixture
def worker(transactional_db):
    with running_worker() as process:
        yield process


@pytest.mark.worker
def test_a_real_worker_rebuilds_and_publishes_through_redis(worker):
    series = demo_load(responses_per_wave=60, seed=3)
    job = rebuild_request(series_id=series.pk, publish=True)
    rebuild_queue([job])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (RebuildJob.Status.DONE, RebuildJob.Status.FAILED):
            break
        assert worker.poll() is None, worker_log(worker)
        time.sleep(0.5)
    assert job.status == RebuildJob.Status.DONE, job.message
    assert job.snapshot is not None
    assert Snapshot.objects.latest_published(series) == job.snapshot


@pytest.mark.worker
def test_a_worker_on_another_queue_of_the_same_redis_takes_none_of_this_runs_jobs(
    transactional_db,
):
    """A worker another run (or deployment) left on the same Redis reads its own queue."""
    series = demo_load(responses_per_wave=20, seed=5)
    job = rebuild_request(series_id=series.pk, publish=True)
    with running_worker(env={"TALLY_CELERY_QUEUE": "someone-elses"}) as stranger:
        rebuild_queue([job])
        time.sleep(8)  # more than the stranger needs to take and run a message
        job.refresh_from_db()
        assert job.status == RebuildJob.Status.QUEUED, worker_log(stranger)
        broker = redis.Redis.from_url(os.environ["REDIS_URL"])
        assert broker.llen(app.conf.task_default_queue) == 1  # waiting for this run's worker
    with running_worker() as worker:  # (which purges this run's queue first: send again)
        rebuild_queue([job])
        deadline = time.monotonic() + 60
        while job.status != RebuildJob.Status.DONE and time.monotonic() < deadline:
            time.sleep(0.5)
            job.refresh_from_db()
        assert job.status == RebuildJob.Status.DONE, worker_log(worker)
