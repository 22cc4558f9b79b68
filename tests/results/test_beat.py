"""A response sent in the browser reaches the published report with no admin involved."""

import time

import pytest
from django.db import transaction
from django.test import Client

from results.models import RebuildJob, RefreshStatus, Snapshot
from survey.services import Structure
from tests.factories import imported_response

from .test_worker import running_worker, worker_log


@pytest.fixture
def worker_with_beat(transactional_db, tmp_path):
    schedule = str(tmp_path / "beat-schedule")
    with running_worker(
        "--beat", "--schedule", schedule, env={"TALLY_REFRESH_SECONDS": "1"}
    ) as process:
        yield process


def wait_for_published(series, *, responses: int, process, seconds: float = 180) -> Snapshot:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        snapshot = Snapshot.objects.latest_published(series)
        if snapshot is not None and snapshot.response_count == responses:
            return snapshot
        assert process.poll() is None, worker_log(process)
        time.sleep(0.5)
    jobs = list(RebuildJob.objects.values_list("status", "message"))
    ticks = list(
        RefreshStatus.objects.values_list(
            "name", "last_success_at", "failures_in_a_row", "last_error"
        )
    )
    snapshots = list(Snapshot.objects.values_list("status", "response_count"))
    output = worker_log(process)
    pytest.fail(
        f"no published snapshot with {responses} responses within {seconds} s: jobs {jobs}, "
        f"refresh ticks {ticks}, snapshots {snapshots}; the worker said:\n{output}"
    )


def _earlier(census, structure) -> None:
    for index in range(20):
        imported_response(
            census,
            respondent_hash=f"earlier-{index}",
            values={"role": "student", "region": "europe", "frameworks_used": ["pytorch"]},
            structure=structure,
        )


@pytest.mark.worker
def test_a_browser_response_appears_in_the_next_published_snapshot(
    census, census_post, worker_with_beat
):
    structure = Structure.of(census)
    with transaction.atomic():  # the earlier twenty arrive together, as one import would
        _earlier(census, structure)
    first = wait_for_published(census.series, responses=20, process=worker_with_beat)

    client = Client()
    for number, data in enumerate(census_post, start=1):
        assert client.post("/s/census-2026/", {"page": str(number), **data}).status_code == 302

    second = wait_for_published(census.series, responses=21, process=worker_with_beat)
    assert second.pk != first.pk
    pytorch = second.cells.get(
        measure="share", wave="2026", question="frameworks_used", choice="pytorch",
        dimension="", option="",
    )  # fmt: skip
    assert pytorch.base_n == 21  # the new respondent is among those who answered
