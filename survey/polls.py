"""Quick polls for voters: /p/<poll>/ (a plain form, one click) and the embeddable widget.

Results live in `results.polls`; a vote ends with a redirect there. A vote is a response:
the respondent cookie of the survey pages, the channel, the IP hash and the submission
budget all apply (see survey.poll_services).

Double clicks and replays: every rendered form carries a signed ballot token naming the
poll, a random nonce and the channel. A voter without a respondent cookie is identified by
that nonce, so two posts of the same form are one respondent and one vote.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import channels, identity, limits
from .identity import COOKIE, COOKIE_SALT, EMBED_COOKIE
from .models import Question, Survey
from .poll_services import BallotError, poll_vote
from .selectors import (
    poll_by_slug,
    poll_open_round,
    poll_question,
    poll_voter_ballot,
    voted_proof,
)
from .services import RateLimitedError, SurveyClosedError, SurveyError

BALLOT_SALT = "tally.poll.ballot"
BALLOT_MAX_AGE = 60 * 60 * 24  # a form left open for a day is stale
CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,59}$")
ANY_SITE = "*"


def _cookie_token(request: HttpRequest) -> str | None:
    return identity.cookie_token(request.COOKIES, (COOKIE, EMBED_COOKIE))


def _respondent_hash(poll: Survey, token: str) -> str:
    # As on the survey pages: per-survey hashes, so two polls' votes cannot be linked.
    return identity.survey_respondent_hash(poll.pk, token)


def _set_cookie(response: HttpResponse, token: str, *, embed: bool = False) -> None:
    secure = settings.SESSION_COOKIE_SECURE
    response.set_cookie(
        EMBED_COOKIE if embed else COOKIE,
        signing.dumps(token, salt=COOKIE_SALT),
        max_age=settings.TALLY_COOKIE_MAX_AGE,
        httponly=True,
        samesite="None" if embed and secure else "Lax",
        secure=secure,
    )


def _ballot_token(poll: Survey, channel: str, site: str = "") -> str:
    data = {"p": poll.pk, "n": identity.token_new(), "c": channel, "s": site}
    return signing.dumps(data, salt=BALLOT_SALT)


def _ballot_read(raw: str, poll: Survey) -> dict[str, str] | None:
    try:
        data = signing.loads(raw, salt=BALLOT_SALT, max_age=BALLOT_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("p") != poll.pk:
        return None
    return {
        "nonce": str(data.get("n", "")),
        "channel": str(data.get("c", "direct")),
        "site": str(data.get("s", "")),
    }


def embed_site(request: HttpRequest) -> str:
    """The embedding page's origin from the iframe request's Referer ("" when not sent)."""
    referer = request.headers.get("Referer", "")
    try:
        parts = urlsplit(referer)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a URL, or a port out of range
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    if parts.netloc == request.get_host():
        return ""  # from the widget itself (changing a vote): the first visit set the channel
    return f"{parts.scheme}://{parts.hostname}{port}"


def site_allowed(poll: Survey, site: str) -> bool:
    origins = poll.embed_origins
    if not origins or not site:
        return True
    host = urlsplit(site).hostname or ""
    for origin in origins:
        if origin == site:
            return True
        if "://*." in origin:
            scheme, domain = origin.split("://*.", 1)
            if site.startswith(scheme + "://") and (host.endswith("." + domain.split(":")[0])):
                return True
    return False


def _embed_channel(site: str) -> str:
    channel = "embed:" + site.split("://", 1)[-1] if site else "embed"
    return channel if CHANNEL_RE.match(channel) else "embed"


def _frame_policy(response: HttpResponse, poll: Survey, *, anywhere: bool = False) -> None:
    """The poll's own frame-ancestors (default any site), the rest of the app's policy."""
    ancestors = [ANY_SITE] if anywhere or not poll.embed_origins else poll.embed_origins
    response._csp_config = {**settings.SECURE_CSP, "frame-ancestors": ancestors}  # type: ignore[attr-defined]


def poll_form_context(
    request: HttpRequest,
    poll: Survey,
    question: Question,
    *,
    channel: str = "direct",
    site: str = "",
    embed: bool = False,
    **extra: object,
) -> dict[str, object]:
    """What the voting form needs: a fresh ballot token, the options, the voter's own vote."""
    mine = poll_voter_ballot(poll=poll, cookies=request.COOKIES)
    if embed:
        action = reverse("survey:poll-embed", args=[poll.slug])
        results_name = "results:poll-embed-results"
    else:
        action = reverse("survey:poll", args=[poll.slug])
        results_name = "results:poll-results"
    query = {"voted": voted_proof(poll_id=poll.pk)} if mine else None
    results_url = reverse(results_name, args=[poll.slug], query=query)
    return {
        "poll": poll,
        "question": question,
        "options": question.options,
        "multiple": question.kind == Question.Kind.MULTI,
        "ballot": _ballot_token(poll, channel, site),
        "site": site,
        "mine": mine,
        "is_open": poll.is_open,
        "open_round": None if poll.is_open else poll_open_round(poll=poll),
        "embed": embed,
        "action": action,
        "results_url": results_url,
        **extra,
    }


def _not_found(request: HttpRequest, template: str) -> HttpResponse:
    return render(request, template, {"state": "unknown"}, status=404)


def _load(slug: str) -> tuple[Survey, Question] | None:
    poll = poll_by_slug(slug=slug)
    if poll is None or poll.status == Survey.Status.DRAFT:
        return None
    question = poll_question(poll)
    return (poll, question) if question is not None else None


def _record(
    request: HttpRequest, poll: Survey, question: Question, *, embed: bool, site: str = ""
) -> tuple[str, str] | HttpResponse:
    """Vote from the posted form: (token, proof) on success, else the page that says why."""
    template = "survey/poll_embed.html" if embed else "survey/poll.html"
    ballot = _ballot_read(request.POST.get("ballot", ""), poll)

    def refuse(message: str, status: int) -> HttpResponse:
        channel = ballot["channel"] if ballot else ("direct" if not embed else _embed_channel(site))
        site_now = ballot["site"] if ballot else site
        context = poll_form_context(
            request, poll, question, channel=channel, site=site_now, embed=embed, error=message
        )
        response = render(request, template, context, status=status)
        if embed:
            _frame_policy(response, poll, anywhere=status == 403)
        return response

    if ballot is None:
        return refuse("This voting form has expired or was altered. Please vote again.", 400)
    if embed and not site_allowed(poll, ballot["site"]):
        return refuse("This poll cannot be embedded on that site.", 403)
    token = _cookie_token(request) or ballot["nonce"]
    keys = request.POST.getlist("choice")
    # A channel name a client chose (?ch=, or the embedding site) waits for an admin's
    # approval, as on the survey pages; until then the vote counts under the default.
    requested = ballot["channel"]
    try:
        vote = poll_vote(
            poll=poll,
            respondent_hash=_respondent_hash(poll, token),
            keys=[str(k)[:100] for k in keys[:50]],
            other=request.POST.get("other", "")[:1000],
            channel=channels.channel_public(requested, default="embed" if embed else "direct"),
            ip_hash=identity.ip_hash(limits.client_ip(request)),
        )
    except SurveyClosedError:
        return refuse("This poll is closed: votes are no longer counted.", 410)
    except RateLimitedError:
        return refuse(
            "Too many votes came from your network in the last hour. Please try again later.",
            429,
        )
    except BallotError as error:
        return refuse(str(error), 400)
    except SurveyError as error:
        return refuse(str(error), 409)
    channels.channel_hold(vote, requested)
    return token, voted_proof(poll_id=poll.pk)


# Never cached: each form carries its own ballot token, and a cached one would make every
# visitor who got it the same respondent.
@never_cache
@require_http_methods(["GET", "POST"])
def poll_page(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the question with one button per answer; POST: vote, then the results."""
    loaded = _load(slug)
    if loaded is None:
        return _not_found(request, "survey/poll.html")
    poll, question = loaded
    channel = (request.GET.get("ch") or "direct").strip().lower()
    channel = channel if CHANNEL_RE.match(channel) else "direct"
    if request.method == "GET":
        status = 200 if poll.is_open else 410
        return render(
            request,
            "survey/poll.html",
            poll_form_context(request, poll, question, channel=channel),
            status=status,
        )
    outcome = _record(request, poll, question, embed=False)
    if isinstance(outcome, HttpResponse):
        return outcome
    token, proof = outcome
    redirect = HttpResponseRedirect(
        reverse("results:poll-results", args=[poll.slug], query={"voted": proof})
    )
    _set_cookie(redirect, token)
    return redirect


@never_cache
@csrf_exempt  # another site's page holds no CSRF cookie; the signed ballot token stands in
@xframe_options_exempt  # framing is governed by the poll's CSP frame-ancestors instead
@require_http_methods(["GET", "POST"])
def poll_embed(request: HttpRequest, slug: str) -> HttpResponse:
    """The compact widget for an iframe; the embedding page's site is the vote's channel."""
    loaded = _load(slug)
    if loaded is None:
        response = _not_found(request, "survey/poll_embed.html")
        response._csp_config = {**settings.SECURE_CSP, "frame-ancestors": [ANY_SITE]}  # type: ignore[attr-defined]
        return response
    poll, question = loaded
    if request.method == "POST":
        outcome = _record(request, poll, question, embed=True)
        if isinstance(outcome, HttpResponse):
            return outcome
        token, proof = outcome
        redirect = HttpResponseRedirect(
            reverse("results:poll-embed-results", args=[poll.slug], query={"voted": proof})
        )
        _set_cookie(redirect, token, embed=True)
        return redirect
    site = embed_site(request)
    if not site_allowed(poll, site):
        # The browser would show an empty frame: say why instead, with a link out.
        response = render(
            request,
            "survey/poll_embed.html",
            {"poll": poll, "question": question, "state": "refused", "site": site},
            status=403,
        )
        _frame_policy(response, poll, anywhere=True)
        return response
    context = poll_form_context(
        request, poll, question, channel=_embed_channel(site), site=site, embed=True
    )
    response = render(
        request, "survey/poll_embed.html", context, status=200 if poll.is_open else 410
    )
    _frame_policy(response, poll)
    return response
