"""Voting in quick polls: one click, one vote per respondent, clear answers to bad input."""

import re

import pytest
from django.utils import timezone

from survey.channels import channels_approve
from survey.models import Answer, Response, Survey
from survey.poll_services import BallotError, poll_schedule_next, poll_vote
from survey.polls import CHANNEL_RE
from tests.conftest import cast_votes
from tests.survey.test_take import fill

pytestmark = pytest.mark.django_db


def ballot_of(html: str) -> str:
    found = re.search(r'name="ballot" value="([^"]+)"', html)
    assert found is not None, "the page has no voting form"
    return found.group(1)


def vote(client, poll, choice, ballot=None, path="", **extra):
    url = f"/p/{poll.slug}/{path}"
    if ballot is None:
        ballot = ballot_of(client.get(url, **extra).content.decode())
    return client.post(url, {"ballot": ballot, "choice": choice}, **extra)


def test_a_vote_takes_one_post_and_leads_to_the_results(client, poll):
    page = client.get(f"/p/{poll.slug}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="choice" value="pytorch"' in html

    response = client.post(f"/p/{poll.slug}/", {"ballot": ballot_of(html), "choice": "pytorch"})

    assert response.status_code == 302
    assert response["Location"].startswith(f"/p/{poll.slug}/results/?voted=")
    stored = Response.objects.get(survey=poll)
    assert stored.status == Response.Status.COMPLETE
    assert stored.channel == "direct"
    assert list(stored.answers.values_list("choice__key", flat=True)) == ["pytorch"]


def test_a_double_click_counts_one_vote(client, poll):
    ballot = ballot_of(client.get(f"/p/{poll.slug}/").content.decode())
    first = client.post(f"/p/{poll.slug}/", {"ballot": ballot, "choice": "jax"})
    client.cookies.clear()  # the second click left before the first answer set the cookie
    second = client.post(f"/p/{poll.slug}/", {"ballot": ballot, "choice": "jax"})

    assert first.status_code == second.status_code == 302
    assert Response.objects.filter(survey=poll).count() == 1
    assert Answer.objects.filter(response__survey=poll).count() == 1


def test_changing_a_vote_replaces_it(client, poll):
    vote(client, poll, "pytorch")
    response = vote(client, poll, "jax")

    assert response.status_code == 302
    stored = Response.objects.get(survey=poll)
    assert list(stored.answers.values_list("choice__key", flat=True)) == ["jax"]
    page = client.get(f"/p/{poll.slug}/").content.decode()
    assert "Your vote: <strong>JAX</strong>" in page


def test_a_replayed_vote_changes_nothing(client, poll):
    vote(client, poll, "pytorch")
    stored = Response.objects.get(survey=poll)

    vote(client, poll, "pytorch")

    again = Response.objects.get(survey=poll)
    assert again.updated_at == stored.updated_at


def test_a_forged_choice_is_refused_with_a_message(client, poll):
    response = vote(client, poll, "../../etc/passwd")

    assert response.status_code == 400
    assert "not one of this poll" in response.content.decode()
    assert not Response.objects.filter(survey=poll, status="complete").exists()


def test_two_answers_to_a_single_choice_poll_are_refused(client, poll):
    ballot = ballot_of(client.get(f"/p/{poll.slug}/").content.decode())
    response = client.post(f"/p/{poll.slug}/", {"ballot": ballot, "choice": ["pytorch", "jax"]})
    assert response.status_code == 400
    assert "one answer" in response.content.decode()


def test_other_needs_its_text(client, poll):
    response = vote(client, poll, "other")
    assert response.status_code == 400
    assert "other" in response.content.decode()


def test_an_altered_ballot_token_is_refused(client, poll):
    response = vote(client, poll, "pytorch", ballot="forged:token")
    assert response.status_code == 400
    assert "expired or was altered" in response.content.decode()


def test_a_vote_on_a_closed_poll_is_refused_clearly(client, poll):
    ballot = ballot_of(client.get(f"/p/{poll.slug}/").content.decode())
    Survey.objects.filter(pk=poll.pk).update(status=Survey.Status.CLOSED)

    response = client.post(f"/p/{poll.slug}/", {"ballot": ballot, "choice": "pytorch"})

    assert response.status_code == 410
    assert "This poll is closed" in response.content.decode()
    assert not Response.objects.filter(survey=poll).exists()


def test_a_draft_or_unknown_poll_is_not_found(client, poll):
    Survey.objects.filter(pk=poll.pk).update(status=Survey.Status.DRAFT)
    assert client.get(f"/p/{poll.slug}/").status_code == 404
    assert client.get("/p/no-such-poll/").status_code == 404
    assert client.get("/p/no-such-poll/embed/").status_code == 404


def test_the_network_budget_applies_to_votes(client, poll, settings):
    settings.TALLY_SUBMIT_RATE_PER_HOUR = 1
    vote(client, poll, "pytorch")
    client.cookies.clear()

    response = vote(client, poll, "jax")

    assert response.status_code == 429
    assert "Too many votes" in response.content.decode()
    assert Response.objects.filter(survey=poll).count() == 1  # and no draft left behind


def test_votes_and_survey_submissions_have_budgets_of_their_own(
    client, poll, census, census_post, settings
):
    settings.TALLY_SUBMIT_RATE_PER_HOUR = 1
    assert vote(client, poll, "pytorch").status_code == 302
    client.cookies.clear()

    last = fill(client, census_post)

    assert last.url.rstrip("/").endswith("/thanks")
    assert Response.objects.filter(survey=census, status=Response.Status.COMPLETE).count() == 1
    client.cookies.clear()
    assert vote(client, poll, "jax").status_code == 429  # the votes' own budget is spent


def test_the_embed_records_the_embedding_site_as_the_channel(client, poll):
    page = client.get(f"/p/{poll.slug}/embed/", HTTP_REFERER="http://blog.example:8765/post")
    assert page.status_code == 200
    assert "frame-ancestors *" in page["Content-Security-Policy"]
    assert "X-Frame-Options" not in page

    response = client.post(
        f"/p/{poll.slug}/embed/", {"ballot": ballot_of(page.content.decode()), "choice": "jax"}
    )

    assert response.status_code == 302
    assert response["Location"].startswith(f"/p/{poll.slug}/embed/results/?voted=")
    # The site is recorded; like any channel name a client chose, it shows once approved.
    vote = Response.objects.get(survey=poll)
    assert (vote.channel, vote.channel_requested) == ("embed", "embed:blog.example:8765")
    channels_approve(["embed:blog.example:8765"])
    assert Response.objects.get(survey=poll).channel == "embed:blog.example:8765"


def test_the_embed_obeys_the_polls_frame_ancestors(client, poll):
    poll.frame_ancestors = "https://ok.example https://*.friends.example"
    poll.save()

    allowed = client.get(f"/p/{poll.slug}/embed/", HTTP_REFERER="https://ok.example/a")
    wildcard = client.get(f"/p/{poll.slug}/embed/", HTTP_REFERER="https://b.friends.example/")
    refused = client.get(f"/p/{poll.slug}/embed/", HTTP_REFERER="https://evil.example/x")

    assert allowed.status_code == wildcard.status_code == 200
    assert (
        "frame-ancestors https://ok.example https://*.friends.example"
        in (allowed["Content-Security-Policy"])
    )
    assert refused.status_code == 403
    assert "cannot be embedded on https://evil.example" in refused.content.decode()
    assert 'name="ballot"' not in refused.content.decode()


def test_the_poll_page_itself_cannot_be_framed(client, poll):
    page = client.get(f"/p/{poll.slug}/")
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_home_lists_open_polls_with_their_buttons(client, poll):
    html = client.get("/").content.decode()
    assert "Open polls" in html
    assert poll.questions.get().text in html
    assert f'action="/p/{poll.slug}/"' in html
    assert 'value="tensorflow"' in html


def test_a_multiple_choice_poll_takes_several_answers(db):
    from survey.poll_services import poll_create

    multi = poll_create(
        slug="which-use",
        text="Which do you use?",
        choices=[("a", "A"), ("b", "B")],
        multiple=True,
        status=Survey.Status.OPEN,
    )
    poll_vote(poll=multi, respondent_hash="r1", keys=["a", "b"])
    assert sorted(Answer.objects.values_list("choice__key", flat=True)) == ["a", "b"]


def test_the_vote_service_refuses_an_empty_ballot(poll):
    with pytest.raises(BallotError):
        poll_vote(poll=poll, respondent_hash="r1", keys=[])


def test_the_next_round_opens_later_and_closes_this_one(poll):
    cast_votes(poll, {"pytorch": 2})
    opens = timezone.now() + timezone.timedelta(days=7)

    round_two = poll_schedule_next(poll=poll, opens_at=opens)

    poll.refresh_from_db()
    assert poll.closes_at == opens
    assert round_two.series_id == poll.series_id
    assert round_two.is_poll and round_two.status == Survey.Status.OPEN
    assert not round_two.is_open  # not before it opens
    assert round_two.questions.get().key == poll.questions.get().key
    assert round_two.responses.count() == 0


def test_channel_names_stay_within_the_channel_rule():
    assert CHANNEL_RE.match("embed:blog.example:8765")


def test_changing_a_vote_inside_a_restricted_embed_is_not_refused(client, poll):
    poll.frame_ancestors = "https://ok.example"
    poll.save()
    page = client.get(f"/p/{poll.slug}/embed/", HTTP_REFERER="https://ok.example/post")
    client.post(
        f"/p/{poll.slug}/embed/", {"ballot": ballot_of(page.content.decode()), "choice": "jax"}
    )

    # "Change my vote" in the widget: the Referer is now the widget's own results page.
    again = client.get(
        f"/p/{poll.slug}/embed/", HTTP_REFERER=f"http://testserver/p/{poll.slug}/embed/results/"
    )

    assert again.status_code == 200
    assert "Your vote: <strong>JAX</strong>" in again.content.decode()
    assert Response.objects.get(survey=poll).channel_requested == "embed:ok.example"


def test_pages_with_ballot_tokens_are_never_cached(client, poll):
    for url in ("/", f"/p/{poll.slug}/", f"/p/{poll.slug}/embed/"):
        assert "no-cache" in client.get(url)["Cache-Control"], url


def test_a_referer_that_is_not_a_url_gives_the_plain_embed_channel(client, poll):
    page = client.get(f"/p/{poll.slug}/embed/", HTTP_REFERER="http://blog.example:99999/")
    client.post(
        f"/p/{poll.slug}/embed/", {"ballot": ballot_of(page.content.decode()), "choice": "jax"}
    )
    assert page.status_code == 200
    assert Response.objects.get(survey=poll).channel == "embed"


def test_the_widget_keeps_its_own_third_party_cookie_on_https(client, poll, settings):
    settings.SESSION_COOKIE_SECURE = True
    response = vote(client, poll, "jax", path="embed/")

    cookie = response.cookies["tally_rid_embed"]
    assert cookie["samesite"] == "None" and cookie["secure"]
    assert "tally_rid" not in response.cookies  # the survey pages' cookie stays Lax
    again = client.get(f"/p/{poll.slug}/embed/").content.decode()
    assert "Your vote: <strong>JAX</strong>" in again


def test_a_closed_round_points_to_the_open_one(client, poll):
    from survey.poll_services import poll_create

    Survey.objects.filter(pk=poll.pk).update(status=Survey.Status.CLOSED, wave_label="2026-01")
    poll_create(
        slug="new-project-feb",
        series_slug=poll.series.slug,
        wave_label="2026-02",
        text="Which framework would you pick for a new project today?",
        choices=[("pytorch", "PyTorch")],
        status=Survey.Status.OPEN,
    )

    page = client.get(f"/p/{poll.slug}/")

    assert page.status_code == 410
    assert 'href="/p/new-project-feb/"' in page.content.decode()


def test_a_channel_from_the_link_waits_for_approval(client, poll):
    page = client.get(f"/p/{poll.slug}/?ch=newsletter")
    client.post(f"/p/{poll.slug}/", {"ballot": ballot_of(page.content.decode()), "choice": "jax"})
    vote = Response.objects.get(survey=poll)
    assert (vote.channel, vote.channel_requested) == ("direct", "newsletter")
