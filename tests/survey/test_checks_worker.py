"""Quality flags and company names are set by a real worker after each submission."""

import time

import pytest
from django.test import Client

from survey.models import Response
from tests.results.test_worker import running_worker, worker_log
from tests.survey.test_api import ANSWERS, submit


@pytest.mark.worker
def test_a_real_worker_flags_and_normalizes_each_submitted_response(transactional_db, census):
    employed = {**ANSWERS, "role": "data-scientist", "company_name": "Acme Inc."}
    with running_worker() as worker:
        for _ in range(2):
            assert submit(Client(), employed).status_code == 201
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = list(Response.objects.values_list("company_normalized", "quality_flags"))
            if all(company and flags for company, flags in rows):
                break
            assert worker.poll() is None, worker_log(worker)
            time.sleep(0.5)
    assert [company for company, _ in rows] == ["acme", "acme"]
    assert all("duplicate-respondent" in flags for _, flags in rows)
