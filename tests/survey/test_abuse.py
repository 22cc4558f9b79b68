"""Abuse costs the abuser: limits per client (as the trusted proxies name it), per session
and per body; the limits fail open when Redis is down; retries are idempotent."""

import logging
from typing import Any

import pytest
from django.test import Client, RequestFactory

from survey import limits
from survey.api import SubmitThrottle
from survey.channels import channels_approve
from survey.models import Channel, Response
from tests.survey.test_api import ANSWERS, submit
from tests.survey.test_api import URL as API_URL
from tests.survey.test_take import URL, fill, post_page

DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


def _request(remote: str, forwarded: str = ""):
    meta: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_the_client_address_is_remote_addr_unless_proxies_are_trusted(settings):
    settings.TALLY_TRUSTED_PROXY_HOPS = 0
    settings.TALLY_TRUSTED_PROXIES = []
    assert limits.client_ip(_request("10.0.0.1", "6.6.6.6")) == "10.0.0.1"


def test_with_one_trusted_hop_the_client_is_what_that_proxy_saw(settings):
    settings.TALLY_TRUSTED_PROXY_HOPS = 1
    # A client-written entry (6.6.6.6) comes before what the proxy appended (2.2.2.2).
    assert limits.client_ip(_request("10.0.0.1", "6.6.6.6, 2.2.2.2")) == "2.2.2.2"
    assert limits.client_ip(_request("10.0.0.1")) == "10.0.0.1"


def test_with_listed_proxies_the_client_is_the_first_untrusted_address(settings):
    import ipaddress

    settings.TALLY_TRUSTED_PROXY_HOPS = 0
    settings.TALLY_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    assert limits.client_ip(_request("10.0.0.1", "6.6.6.6, 9.9.9.9, 10.0.0.2")) == "9.9.9.9"
    assert limits.client_ip(_request("9.9.9.9", "6.6.6.6")) == "9.9.9.9"


@pytest.mark.django_db
def test_a_new_x_forwarded_for_per_request_does_not_reset_the_api_budget(
    client, census, monkeypatch
):
    monkeypatch.setattr(SubmitThrottle, "THROTTLE_RATES", {"submit": "2/hour"})
    answers = [
        client.post(
            API_URL,
            {"answers": ANSWERS},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"6.6.6.{n}",
        )
        for n in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert int(answers[-1]["Retry-After"]) > 0


@pytest.mark.django_db
def test_drafts_are_limited_per_session(client, census, census_post, settings):
    settings.TALLY_DRAFT_RATE_PER_SESSION = 2
    for _ in range(2):
        client.cookies.pop("tally_rid", None)
        client.get(URL)
        assert post_page(client, 1, census_post[0]).status_code == 302
    client.cookies.pop("tally_rid", None)
    refused = post_page(client, 1, census_post[0])
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many surveys were started" in refused.content.decode()
    assert Response.objects.count() == 2


@pytest.mark.django_db
def test_drafts_are_limited_per_ip_hash_across_sessions(census, census_post, settings):
    settings.TALLY_DRAFT_RATE_PER_HOUR = 2
    statuses = [post_page(Client(), 1, census_post[0]).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert Response.objects.count() == 2


@pytest.mark.django_db
def test_a_double_click_on_next_leaves_one_draft(client, census, census_post):
    client.get(URL)  # the page sets the respondent's cookie before the first post
    first = post_page(client, 1, census_post[0])
    second = post_page(client, 1, census_post[0])
    assert first.status_code == second.status_code == 302
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_submission_carries_retry_after(census, census_post, settings):
    settings.TALLY_SUBMIT_RATE_PER_HOUR = 1
    assert fill(Client(), census_post)["Location"].endswith("/thanks/")
    second = Client()
    fill(second, census_post, upto=4)
    refused = post_page(second, 5, census_post[4])
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600


@pytest.mark.django_db
def test_with_redis_down_respondents_still_complete_and_limits_fall_back_per_process(
    census, census_post, settings, monkeypatch, caplog
):
    """Proves invariant 1 for the limits: Redis down never rejects a response; the limits
    then count in this process (and say so in the log)."""
    settings.CACHES = DEAD_REDIS
    monkeypatch.setattr(limits, "_last_warning", [0.0])
    caplog.set_level(logging.WARNING, logger="survey.limits")
    assert fill(Client(), census_post)["Location"].endswith("/thanks/")
    assert submit(Client(), ANSWERS).status_code == 201
    assert Response.objects.complete().count() == 2
    assert "per-process counters" in caplog.text

    monkeypatch.setattr(SubmitThrottle, "THROTTLE_RATES", {"submit": "1/hour"})
    refused = submit(Client(), ANSWERS)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


def submit_with_key(client, answers, key):
    return client.post(
        API_URL, {"answers": answers}, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


@pytest.mark.django_db
def test_an_idempotency_key_makes_a_retry_return_the_first_result(client, census):
    first = submit_with_key(client, ANSWERS, "0b6c6a1e-retry-me")
    retry = submit_with_key(client, ANSWERS, "0b6c6a1e-retry-me")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Response.objects.count() == 1
    other = submit_with_key(client, ANSWERS, "another-key")
    assert other.status_code == 201 and not other.has_header("Idempotent-Replayed")
    assert Response.objects.count() == 2
    bad = submit_with_key(client, ANSWERS, "x" * 300)
    assert bad.status_code == 400
    assert "Idempotency-Key" in bad.json()["detail"]


@pytest.mark.django_db
def test_the_schema_documents_the_idempotency_key(client):
    schema = client.get("/api/schema/").content.decode()
    assert "Idempotency-Key" in schema


@pytest.mark.django_db
def test_identical_api_bodies_are_flagged(census):
    for _ in range(2):
        assert submit(Client(), ANSWERS).status_code == 201
    flags = [r.quality_flags for r in Response.objects.order_by("pk")]
    assert flags == [[limits.IDENTICAL_BODY], [limits.IDENTICAL_BODY]]


@pytest.mark.django_db
def test_a_channel_an_anonymous_client_names_is_held_until_approved(client, census):
    assert submit(client, ANSWERS, channel="api-test").status_code == 201
    response = Response.objects.get()
    assert (response.channel, response.channel_requested) == ("api", "api-test")
    assert Channel.objects.get(name="api-test").approved is False
    client.get(URL + "?ch=spam-link")
    assert Channel.objects.filter(name="spam-link").exists() is False  # only on a real start

    assert channels_approve(["api-test"]) == 1
    response.refresh_from_db()
    assert (response.channel, response.channel_requested) == ("api-test", "")
    assert submit(Client(), {**ANSWERS, "satisfaction": "4"}, channel="api-test").status_code == 201
    assert Response.objects.filter(channel="api-test").count() == 2


@pytest.mark.django_db
def test_a_channel_name_no_row_can_hold_counts_under_the_default():
    from survey.channels import channel_public

    assert channel_public("site\x00name", default="embed") == "embed"
    assert channel_public("x" * 500, default="direct") == "direct"
    assert not Channel.objects.exists()
