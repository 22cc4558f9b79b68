"""Quick polls in Chromium: one click from the home page on a phone, and the embed snippet
pasted into a page of another site (a plain HTML file served from another port)."""

import functools
import http.server
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from results.services import snapshot_build, snapshot_publish
from survey.channels import channels_approve
from survey.models import Response
from tests.conftest import cast_votes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def standing(poll):
    """The poll with 45 earlier votes and their published snapshot."""
    cast_votes(poll, {"pytorch": 25, "tensorflow": 10, "jax": 10})
    snapshot = snapshot_build(series_id=poll.series_id)
    snapshot_publish(snapshot_id=snapshot.pk)
    return poll


@pytest.fixture
def other_site(tmp_path: Path):
    """A static web server on another port: the blog the poll is embedded in."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_new_user_votes_from_the_home_page_in_one_click_on_a_phone(live_server, standing, phone):
    page = phone.new_page()
    page.goto(live_server.url + "/")
    card = page.locator(".poll-card")
    expect(card.get_by_role("heading")).to_have_text(
        "Which framework would you pick for a new project today?"
    )

    card.get_by_role("button", name="JAX").click()

    page.wait_for_url(f"{live_server.url}/p/{standing.slug}/results/?voted=*")
    expect(page.get_by_role("table")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("n = 45 votes")
    pytorch = page.get_by_role("row", name="PyTorch")
    expect(pytorch).to_contain_text("55.6%")  # 25 / 45
    expect(pytorch).to_contain_text("41.2–69.1%")  # its 95% Wilson interval
    expect(page.get_by_text("Last updated")).to_be_visible()
    # The page fits the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The earlier votes were cast by respondents "v-<choice>-<i>"; the browser's is the new one.
    vote = Response.objects.exclude(respondent_hash__startswith="v-").get(survey=standing)
    assert vote.status == Response.Status.COMPLETE and vote.channel == "direct"
    assert list(vote.answers.values_list("choice__key", flat=True)) == ["jax"]


def test_the_embed_snippet_on_another_site_shows_the_poll_and_records_that_site(
    live_server, standing, browser, other_site, settings
):
    settings.SITE_URL = live_server.url
    folder, origin = other_site
    (folder / "post.html").write_text(
        "<!doctype html><html><head><title>A blog post</title></head><body>"
        "<h1>Is TensorFlow dead?</h1>" + standing.embed_snippet(None) + "</body></html>",
        encoding="utf-8",
    )
    context = browser.new_context()
    page = context.new_page()
    page.goto(origin + "/post.html")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading")).to_have_text(
        "Which framework would you pick for a new project today?"
    )

    frame.get_by_role("button", name="TensorFlow").click()

    expect(frame.get_by_role("table")).to_contain_text("n = 45 votes")
    expect(frame.get_by_role("row", name="PyTorch")).to_contain_text("55.6%")
    # The site is recorded as the vote's channel, shown in reports once an admin approves it.
    site = "embed:" + origin.removeprefix("http://")
    vote = Response.objects.get(survey=standing, status="complete", channel_requested=site)
    assert vote.channel == "embed"
    channels_approve([site])
    vote.refresh_from_db()
    assert vote.channel == site
    context.close()


def test_an_embed_on_a_site_outside_frame_ancestors_says_so(
    live_server, standing, browser, other_site, settings
):
    settings.SITE_URL = live_server.url
    standing.frame_ancestors = "https://blog.example.org"
    standing.save()
    folder, origin = other_site
    (folder / "post.html").write_text(
        "<!doctype html><html><body>" + standing.embed_snippet(None) + "</body></html>",
        encoding="utf-8",
    )
    context = browser.new_context()
    page = context.new_page()
    page.goto(origin + "/post.html")

    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("alert")).to_contain_text("cannot be embedded on " + origin)
    expect(frame.get_by_role("button")).to_have_count(0)
    context.close()


def test_a_double_click_on_an_answer_counts_one_vote(live_server, standing, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/p/{standing.slug}/")

    page.get_by_role("button", name="TensorFlow").dblclick()

    page.wait_for_url(f"{live_server.url}/p/{standing.slug}/results/?voted=*")
    expect(page.get_by_text("your vote is recorded")).to_be_visible()
    new = Response.objects.exclude(respondent_hash__startswith="v-").filter(survey=standing)
    assert new.count() == 1
    context.close()
