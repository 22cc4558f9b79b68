"""Hypothesis against the respondent's pages: whatever is posted or asked for, never a 5xx,
never damage to saved answers, and never an answer row that breaks the survey's structure."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.http import QueryDict
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey.forms import PageForm
from survey.models import Answer, Response
from survey.selectors import question_is_visible, response_values
from survey.services import Structure
from tests.factories import cache_clear
from tests.results.factories import census_snapshot

URL = "/s/census-2026/"
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

junk_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.just("\x00"),
    st.sampled_from(["x" * 5000, "9" * 400, "-1", "1e999", "NaN", "☃", "<script>", "=cmd|"]),
)
junk_name = st.one_of(st.text(max_size=20), st.sampled_from(["q_", "q___other", "q_role__x"]))


def census_fields(census: Any) -> tuple[list[str], list[str]]:
    """Every field name the Census's page forms have, and every choice key it offers."""
    structure = Structure.of(census)
    names: set[str] = set()
    for page in census.pages.all():
        questions = [q for q in structure.questions if q.page_id == page.pk]
        names |= set(
            PageForm(questions=questions, all_questions=structure.questions, prior={}).fields
        )
    keys = sorted({c.key for q in structure.questions for c in q.choices.all()})
    return sorted(names), keys


def fill(client: Client, pages: list[dict], upto: int) -> None:
    for number, data in enumerate(pages[:upto], start=1):
        reply = client.post(URL, {"page": str(number), "action": "next", **data})
        assert reply.status_code == 302, reply.content.decode()[:500]


def stored(response: Response | None) -> list[tuple]:
    if response is None:
        return []
    return sorted(
        Answer.objects.filter(response=response).values_list(
            "question__key", "choice__key", "column__key", "value_number", "value_text"
        )
    )


def post_is_valid(census: Any, data: dict[str, Any], values: dict, editing: bool) -> bool:
    """What the view may save: a page the respondent may post, whose form validates (or,
    going back, is well formed though incomplete)."""
    structure = Structure.of(census)
    page = next((p for p in census.pages.all() if str(p.position) == data.get("page")), None)
    if page is None or data.get("website"):
        return False
    questions = [q for q in structure.questions if q.page_id == page.pk]
    if not any(question_is_visible(q, values, structure.by_id) for q in questions):
        return False
    query = QueryDict(mutable=True)
    for name, value in data.items():
        if isinstance(value, list):
            query.setlist(name, [str(v) for v in value])
        else:
            query[name] = str(value)
    form = PageForm(query, questions=questions, all_questions=structure.questions, prior=values)
    if form.is_valid():
        return True
    # Back keeps what an incomplete page holds, never what a malformed one holds.
    return data.get("action") == "back" and not form.malformed


def assert_structure_kept(census: Any) -> None:
    structure = Structure.of(census)
    for response in Response.objects.filter(survey=census):
        values = response_values(response)
        for answer in Answer.objects.filter(response=response).select_related(
            "question", "choice", "column"
        ):
            question = answer.question
            assert question.survey_id == census.pk
            for choice in (answer.choice, answer.column):
                assert choice is None or choice.question_id == question.pk
            assert question_is_visible(question, values, structure.by_id), question.key


@pytest.fixture
def generous_limits(settings):
    # Hundreds of completions from one address in a test: the rate limit has its own test.
    settings.TALLY_SUBMIT_RATE_PER_HOUR = 10**6


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_any_post_never_fails_nor_damages_saved_answers(census, census_post, generous_limits, data):
    names, keys = census_fields(census)
    value = st.one_of(
        st.sampled_from(keys),
        junk_text,
        st.lists(st.sampled_from(keys) | junk_text, max_size=5),
        st.lists(st.sampled_from(keys), min_size=1000, max_size=3000),
    )
    Response.objects.filter(survey=census).delete()
    # Rate-limit counters live in the cache, cleared per test by conftest, not per example: a
    # limit reached half way would make a replayed example draw differently.
    cache_clear()
    client = Client()
    state = data.draw(st.sampled_from(["none", "draft", "complete"]), label="state")
    upto = {"none": 0, "draft": data.draw(st.integers(1, 4), label="pages"), "complete": 5}
    fill(client, census_post, upto[state])
    response = Response.objects.filter(survey=census).first()
    before = stored(response)
    values = response_values(response) if response else {}

    post: dict[str, Any] = data.draw(
        st.dictionaries(st.sampled_from(names) | junk_name, value, max_size=8), label="fields"
    )
    post["page"] = data.draw(
        st.sampled_from(["1", "2", "3", "4", "5"])
        | st.integers(-(10**20), 10**20).map(str)
        | junk_text,
        label="page",
    )
    for name, options in (
        ("action", st.sampled_from(["next", "back", "back"]) | junk_text),
        ("mode", st.sampled_from(["edit"]) | junk_text),
        ("started", junk_text),
    ):
        if data.draw(st.booleans(), label=f"has {name}"):
            post[name] = data.draw(options, label=name)
    post = {k: v for k, v in post.items() if "\x00" not in k}

    reply = client.post(URL, post)
    assert reply.status_code < 500

    after_response = Response.objects.filter(survey=census).first()
    after = stored(after_response)
    editing = state == "complete" and post.get("mode") == "edit"
    if after != before and response is not None:
        assert state == "draft" or editing, "a complete response changed without an edit"
        assert post_is_valid(census, post, values, editing), "an invalid post changed answers"
    assert_structure_kept(census)


@pytest.mark.django_db
def test_back_with_an_invalid_page_keeps_the_saved_answers(client, census, census_post):
    fill(client, census_post, 2)
    before = response_values(Response.objects.get())
    for page, junk in (("1", {"q_role": "astronaut"}), ("2", {"q_project_types": ["zzz"]})):
        reply = client.post(URL, {"page": page, "action": "back", **junk})
        assert reply.status_code == 302
        assert response_values(Response.objects.get()) == before


@pytest.mark.django_db
def test_back_with_a_valid_page_saves_it(client, census, census_post):
    fill(client, census_post, 2)
    reply = client.post(URL, {"page": "2", "action": "back", **census_post[1], "q_domains": []})
    assert reply["Location"] == URL + "?page=1"
    assert "domains" not in response_values(Response.objects.get())


@pytest.mark.django_db
@settings(FUZZ, max_examples=60)
@given(body=st.binary(max_size=400), page=st.sampled_from([b"1", b"2", b"\xff"]))
def test_raw_bodies_with_invalid_utf8_never_fail(census, census_post, body, page):
    client = Client()
    fill(client, census_post, 1)
    before = stored(Response.objects.get())
    raw = b"page=" + page + b"&action=next&q_role=" + body + b"&" + body
    reply = client.post(URL, raw, content_type="application/x-www-form-urlencoded")
    assert reply.status_code < 500
    if page == b"1":
        # The page-1 answers are only replaced by a post that validates.
        after = stored(Response.objects.get())
        assert after == before or reply.status_code == 302
    Response.objects.all().delete()


segment = st.text(max_size=40).filter(lambda s: "\x00" not in s).map(lambda s: quote(s, safe=""))


@pytest.mark.django_db
@settings(FUZZ, max_examples=80)
@given(
    slug=segment,
    page=segment,
    edit=segment,
    ch=segment,
    invite=segment,
    token=segment,
    name=segment,
    ext=segment,
    wave=segment,
    limit=segment,
    offset=segment,
)
def test_any_address_or_query_never_fails(
    census, slug, page, edit, ch, invite, token, name, ext, wave, limit, offset
):
    if not hasattr(census, "_snapshot"):
        census._snapshot = census_snapshot(series=census.series)
    client = Client()
    for url in (
        f"/s/{slug}/",
        f"{URL}?page={page}&edit={edit}&ch={ch}&invite={invite}",
        f"{URL}resume/{token}/",
        f"/s/{slug}/resume/{token}/",
        f"/reports/{slug}/",
        f"/reports/ml-frameworks/charts/{name}.{ext}",
        f"/reports/ml-frameworks/charts/{name}.svg",
        f"/api/v1/series/ml-frameworks/cells/?wave={wave}&limit={limit}&offset={offset}",
        f"/api/v1/series/{slug}/cells/?wave={wave}",
    ):
        reply = client.get(url)
        assert reply.status_code < 500, url


@pytest.mark.django_db
def test_back_with_an_incomplete_page_keeps_what_was_entered(client, census, census_post):
    fill(client, census_post, 2)
    partial = {k: v for k, v in census_post[2].items() if k != "q_frameworks_used"}
    reply = client.post(URL, {"page": "3", "action": "back", **partial})
    assert reply["Location"] == URL + "?page=2"
    assert response_values(Response.objects.get())["framework_status"] == {
        "pytorch": "new-projects",
        "tensorflow": "stopped",
    }
