"""Hypothesis against the poll pages: whatever is posted, never a 5xx, and never a vote row
that is not one of the poll's choices or a second answer to its single choice."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey.models import Answer, Response

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
REFUSALS = {302, 400, 403, 409, 410, 429}

junk = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["pytorch", "jax", "other", "", "\x00", "x" * 5000, "☃", "=cmd|", "1"]),
)


@pytest.mark.django_db
@FUZZ
@given(
    path=st.sampled_from(["", "embed/"]),
    choices=st.lists(junk, max_size=4),
    other=junk,
    ballot=st.one_of(st.none(), junk),
    referer=st.one_of(st.none(), junk, st.just("http://[::1")),
)
def test_any_vote_post_gets_an_answer_never_a_server_error(
    poll, path, choices, other, ballot, referer
):
    client = Client()
    extra = {"HTTP_REFERER": referer} if referer is not None else {}
    page = client.get(f"/p/{poll.slug}/{path}", **extra)
    assert page.status_code in {200, 403}
    if ballot is None:
        found = re.search(r'name="ballot" value="([^"]+)"', page.content.decode())
        ballot = found.group(1) if found else ""

    response = client.post(
        f"/p/{poll.slug}/{path}", {"ballot": ballot, "choice": choices, "other": other}
    )

    assert response.status_code in REFUSALS
    keys = {c.key for c in poll.questions.get().choices.all()}
    assert set(Answer.objects.values_list("choice__key", flat=True)) <= keys
    # A single-choice poll: one answer per respondent, whatever was posted.
    for vote in Response.objects.filter(survey=poll):
        assert vote.answers.count() <= 1
