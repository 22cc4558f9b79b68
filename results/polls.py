"""A poll's results for the public: the standing after a vote, the embed's, and the CSV.

Numbers come from the latest published snapshot of the poll's series (results.selectors),
never from votes. Two facts are read from the survey side: how many votes a poll holds
while it has fewer than k (the page says how many more are needed), and whether a new
snapshot is due (the page then says results are being updated, and asks for one).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from survey import selectors
from survey.models import Question, Survey

from . import disclosure
from .exports import cells_csv_response
from .models import RebuildJob
from .selectors import poll_results
from .services import latest_ready, poll_due, rebuild_request
from .tasks import rebuild_queue

logger = logging.getLogger(__name__)


def _load(slug: str) -> tuple[Survey, Question] | None:
    poll = selectors.poll_by_slug(slug=slug)
    if poll is None or poll.status == Survey.Status.DRAFT:
        return None
    question = selectors.poll_question(poll)
    return (poll, question) if question is not None else None


def _proof_valid(request: HttpRequest, poll: Survey) -> bool:
    proof = request.GET.get("voted", "")
    return bool(proof) and selectors.voted_proof_valid(proof=proof, poll_id=poll.pk)


def _hidden_until(request: HttpRequest, poll: Survey) -> str:
    """Why the standing is not shown yet ("" when it is): "vote" or "close".

    After voting, either proof will do: the respondent cookie holding a vote in this poll
    (a bookmarked or typed address), or the `?voted=` token of the link a vote leads to
    (inside a third-party iframe, and for clients that keep no cookie).
    """
    if poll.results_visibility == Survey.ResultsVisibility.ALWAYS or not poll.is_open:
        return ""
    if poll.results_visibility == Survey.ResultsVisibility.AFTER_CLOSE:
        return "close"
    if _proof_valid(request, poll):
        return ""
    return "" if selectors.poll_voter_ballot(poll=poll, cookies=request.COOKIES) else "vote"


def _updating(poll: Survey) -> bool:
    """True while a snapshot with newer votes is due or being built; asks for one if due."""
    series = poll.series
    active = RebuildJob.objects.filter(
        series=series, status__in=[RebuildJob.Status.QUEUED, RebuildJob.Status.RUNNING]
    )
    if active.exists():
        return True
    taxonomy = selectors.taxonomy_version_applied()
    if not poll_due(series=series, latest=latest_ready(series), taxonomy=taxonomy):
        return False
    try:
        rebuild_queue([rebuild_request(series_id=series.pk)])
    except Exception:  # noqa: BLE001 (a broker being down never breaks the page; beat retries)
        logger.warning("Could not queue a rebuild of %s", series.slug, exc_info=True)
    return True


def _context(request: HttpRequest, poll: Survey, question: Question) -> dict[str, object]:
    k = disclosure.k_for(poll.series.k_threshold)
    hidden_until = _hidden_until(request, poll)
    results = poll_results(poll, question) if not hidden_until else None
    needed = 0
    if results is not None and (results.current is None or results.current.n is None):
        needed = max(0, k - selectors.poll_vote_count(poll_id=poll.pk))
    proof_valid = _proof_valid(request, poll)
    suffix = f"?voted={request.GET['voted']}" if proof_valid and not hidden_until else ""
    return {
        "poll": poll,
        "question": question,
        "series": poll.series,
        "synthetic": poll.is_synthetic or poll.series.is_synthetic,
        "k": k,
        "hidden_until": hidden_until,
        "results": results,
        "standing": results.current if results else None,
        "voted": proof_valid,
        "needed": needed,
        "updating": _updating(poll) if results is not None else False,
        "is_open": poll.is_open,
        "csv_url": reverse("results:poll-results-csv", args=[poll.slug]) + suffix,
        "full_url": reverse("results:poll-results", args=[poll.slug]) + suffix,
        "snippet": poll.embed_snippet(request),
    }


def _not_found(request: HttpRequest, template: str) -> HttpResponse:
    return render(request, template, {"state": "unknown"}, status=404)


@require_safe
@never_cache  # the page depends on the voter and on whether an update is due
def poll_results_page(request: HttpRequest, slug: str) -> HttpResponse:
    loaded = _load(slug)
    if loaded is None:
        return _not_found(request, "results/poll.html")
    return render(request, "results/poll.html", _context(request, *loaded))


@require_safe
@never_cache
@xframe_options_exempt  # framing is governed by the poll's CSP frame-ancestors instead
def poll_embed_results(request: HttpRequest, slug: str) -> HttpResponse:
    loaded = _load(slug)
    if loaded is None:
        response = _not_found(request, "results/poll_embed.html")
        ancestors = ["*"]
    else:
        poll = loaded[0]
        response = render(request, "results/poll_embed.html", _context(request, *loaded))
        ancestors = poll.embed_origins or ["*"]
    response._csp_config = {**settings.SECURE_CSP, "frame-ancestors": ancestors}  # type: ignore[attr-defined]
    return response


CSV_REFUSALS = {
    "vote": "The results are shown once you have voted in this poll.",
    "close": "The results are shown when the poll closes.",
}


def _csv_refusal(message: str, status: int) -> HttpResponse:
    # A client asking for a CSV gets a sentence it can show, not an HTML page.
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


@require_safe
def poll_results_csv(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The published cells of the poll's series, as /reports/<series>/cells.csv has them."""
    loaded = _load(slug)
    if loaded is None:
        return _csv_refusal("There is no poll at this address.", 404)
    poll, question = loaded
    hidden_until = _hidden_until(request, poll)
    if hidden_until:
        return _csv_refusal(CSV_REFUSALS[hidden_until], 403)
    results = poll_results(poll, question)
    if results.snapshot is None:
        return _csv_refusal("No results of this poll are published yet.", 404)
    snapshot = results.snapshot
    synthetic = "synthetic-" if poll.series.is_synthetic else ""
    headers = {"Tally-Snapshot": str(snapshot.pk), "Cache-Control": "private, max-age=60"}
    if synthetic:
        headers["Tally-Synthetic"] = "true"
    return cells_csv_response(snapshot, f"{poll.slug}-{synthetic}results.csv", headers=headers)
