"""The respondent's side: take a survey page by page, save and resume, edit until it closes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from . import channels, identity, limits
from .forms import PageForm
from .models import Invitation, Page, Question, Response, Survey
from .selectors import response_for, response_values, survey_by_slug, survey_with_structure
from .services import (
    IncompleteResponseError,
    RateLimitedError,
    Structure,
    SurveyClosedError,
    TooFastError,
    response_save_page,
    response_start,
    response_submit,
)

COOKIE = "tally_rid"
COOKIE_SALT = "tally.respondent"
STARTED_SALT = "tally.started"
CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,59}$")


def _token(request: HttpRequest) -> str | None:
    raw = request.COOKIES.get(COOKIE)
    if not raw:
        return None
    try:
        return signing.loads(raw, salt=COOKIE_SALT, max_age=settings.TALLY_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return None


def _respondent_hash(survey: Survey, token: str) -> str:
    # Per-survey hashes: two surveys' responses cannot be linked through the hash.
    return identity.respondent_hash(f"{survey.pk}:{token}")


def _set_token(response: HttpResponse, token: str) -> None:
    response.set_cookie(
        COOKIE,
        signing.dumps(token, salt=COOKIE_SALT),
        max_age=settings.TALLY_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def _client_ip(request: HttpRequest) -> str:
    return limits.client_ip(request)


def _visible_pages(survey: Survey, structure: Structure, values: dict) -> list[Page]:
    """Pages with at least one question show-if lets through, in order."""
    from .selectors import question_is_visible

    pages = list(survey.pages.all())
    shown = []
    for page in pages:
        questions = [q for q in structure.questions if q.page_id == page.pk]
        if not questions or any(question_is_visible(q, values, structure.by_id) for q in questions):
            shown.append(page)
    return shown


def _status_page(
    request: HttpRequest, survey: Survey | None, state: str, status: int
) -> HttpResponse:
    return render(request, "survey/status.html", {"survey": survey, "state": state}, status=status)


def _invitation(request: HttpRequest, survey: Survey) -> Invitation | None:
    token = request.GET.get("invite") or request.session.get(f"invite:{survey.pk}")
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    invitation = Invitation.objects.filter(
        survey=survey, token_hash=identity.invitation_hash(token)
    ).first()
    if invitation is not None:
        request.session[f"invite:{survey.pk}"] = token
    return invitation


def _remember_channel(request: HttpRequest, survey: Survey) -> None:
    channel = (request.GET.get("ch") or "").strip().lower()
    if channel and CHANNEL_RE.match(channel):
        request.session[f"ch:{survey.pk}"] = channel


@require_http_methods(["GET", "POST"])
def take(request: HttpRequest, slug: str) -> HttpResponse:
    survey = survey_with_structure(slug=slug)
    if survey is None:
        return _status_page(request, None, "unknown", 404)
    preview = request.GET.get("preview") == "1" and request.user.is_staff
    if survey.status == Survey.Status.DRAFT and not preview:
        return _status_page(request, survey, "draft", 404)
    if not survey.is_open and not preview:
        return _status_page(request, survey, "closed", 410)

    _remember_channel(request, survey)
    token = _token(request)
    response = (
        response_for(survey=survey, respondent_hash=_respondent_hash(survey, token))
        if token
        else None
    )
    invitation = _invitation(request, survey)
    if survey.access == Survey.Access.INVITE and response is None and invitation is None:
        return _status_page(request, survey, "invite", 403)
    if invitation is not None and invitation.used_at and response is None:
        # An invitation admits one respondent; they come back through their cookie or link.
        return _status_page(request, survey, "invite-used", 403)

    complete = response is not None and response.status == Response.Status.COMPLETE
    editing = complete and (request.GET.get("edit") == "1" or request.POST.get("mode") == "edit")
    if complete and not editing:
        if request.method == "POST":
            # A replay of a submitted form changes nothing.
            return HttpResponseRedirect(reverse("survey:take", args=[survey.slug]))
        return render(request, "survey/done.html", {"survey": survey, "response": response})

    structure = Structure.of(survey, questions=list(survey.questions.all()))
    values = response_values(response) if response else {}
    pages = _visible_pages(survey, structure, values)
    furthest = (
        response.current_page if response and response.status == Response.Status.DRAFT else None
    )

    if request.method == "POST":
        return _post(
            request, survey, structure, response, token, invitation, pages, values, editing, preview
        )

    page = _page_to_show(request, pages, furthest, editing)
    form = PageForm(
        questions=[q for q in structure.questions if q.page_id == page.pk],
        all_questions=structure.questions,
        prior=values,
        initial=_initial(structure, page, values),
    )
    shown = _render_page(request, survey, pages, page, form, token, editing, preview)
    if token is None and not preview:
        # The token before the first post: a double-click on Next finds one draft, not two.
        _set_token(shown, identity.token_new())
    return shown


def _page_to_show(
    request: HttpRequest, pages: list[Page], furthest: int | None, editing: bool
) -> Page:
    wanted = request.GET.get("page", "")
    allowed = [p for p in pages if editing or furthest is None or p.position <= furthest]
    if furthest is None and not editing:
        allowed = pages[:1]
    if wanted.isdigit():
        for page in allowed:
            if page.position == int(wanted):
                return page
    if furthest is not None and not editing:
        reached = [p for p in pages if p.position <= furthest]
        return reached[-1] if reached else pages[0]
    return allowed[0] if allowed else pages[0]


def _initial(structure: Structure, page: Page, values: dict) -> dict:
    from .forms import field_name, other_field_name

    initial: dict = {}
    for question in structure.questions:
        if question.page_id != page.pk or question.key not in values:
            continue
        value = values[question.key]
        if question.kind == Question.Kind.MATRIX:
            for row_key, column_key in value.items():
                initial[field_name(question, row_key)] = column_key
        else:
            initial[field_name(question)] = value
        if f"{question.key}__other" in values:
            initial[other_field_name(question)] = values[f"{question.key}__other"]
    return initial


def _render_page(
    request: HttpRequest,
    survey: Survey,
    pages: list[Page],
    page: Page,
    form: PageForm,
    token: str | None,
    editing: bool,
    preview: bool,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    index = next((i for i, p in enumerate(pages) if p.pk == page.pk), 0)
    started = signing.dumps(datetime.now(UTC).timestamp(), salt=STARTED_SALT)
    resume_url = None
    if token:
        resume_url = request.build_absolute_uri(
            reverse("survey:resume", args=[survey.slug, signing.dumps(token, salt=COOKIE_SALT)])
        )
    context = {
        "survey": survey,
        "page": page,
        "form": form,
        "questions": form.questions,
        "page_number": index + 1,
        "page_count": len(pages),
        "is_first": index == 0,
        "is_last": index == len(pages) - 1,
        "started": started,
        "resume_url": resume_url,
        "editing": editing,
        "preview": preview,
        "notice": notice or request.session.pop("notice", ""),
    }
    return render(request, "survey/page.html", context, status=status)


def _started_at(request: HttpRequest) -> datetime | None:
    try:
        stamp = signing.loads(request.POST.get("started", ""), salt=STARTED_SALT, max_age=86400)
        return datetime.fromtimestamp(float(stamp), tz=UTC)
    except (signing.BadSignature, TypeError, ValueError):
        return None


def _post(
    request: HttpRequest,
    survey: Survey,
    structure: Structure,
    response: Response | None,
    token: str | None,
    invitation: Invitation | None,
    pages: list[Page],
    values: dict,
    editing: bool,
    preview: bool,
) -> HttpResponse:
    raw_page = request.POST.get("page", "")
    page = next((p for p in pages if str(p.position) == raw_page), None)
    furthest = response.current_page if response and response.status == Response.Status.DRAFT else 1
    if page is None or (not editing and page.position > furthest):
        # A tampered or stale page number: show the page they are really on.
        return HttpResponseRedirect(reverse("survey:take", args=[survey.slug]))
    questions = [q for q in structure.questions if q.page_id == page.pk]
    form = PageForm(
        request.POST, questions=questions, all_questions=structure.questions, prior=values
    )
    if form.is_spam:
        return HttpResponseRedirect(reverse("survey:thanks", args=[survey.slug]))
    action = request.POST.get("action", "next")
    valid = form.is_valid()
    if preview:
        if not valid and action != "back":
            return _render_page(
                request, survey, pages, page, form, token, editing, preview, status=400
            )
        return _go(survey, pages, page, action, editing=False, preview=True)
    if action != "back" and not valid:
        return _render_page(request, survey, pages, page, form, token, editing, preview, status=400)
    if not valid and form.malformed:
        # Back saves an incomplete page (a required answer still missing) but never a
        # malformed one: a junk or tampered value would replace what was saved before.
        index = next(i for i, p in enumerate(pages) if p.pk == page.pk)
        url = (
            reverse("survey:take", args=[survey.slug])
            + f"?page={pages[max(index - 1, 0)].position}"
        )
        return HttpResponseRedirect(url + ("&edit=1" if editing else ""))

    new_token = None
    if response is None:
        if action == "back":
            return HttpResponseRedirect(reverse("survey:take", args=[survey.slug]))
        new_token = token or identity.token_new()
        if not limits.drafts_allowed(request, identity.ip_hash(_client_ip(request))):
            return _status_page(request, survey, "too-many-drafts", 429)
        try:
            requested_channel = request.session.get(f"ch:{survey.pk}", "")
            response = response_start(
                survey=survey,
                respondent_hash=_respondent_hash(survey, new_token),
                channel=channels.channel_public(requested_channel, default="direct"),
                ip_hash=identity.ip_hash(_client_ip(request)),
                started_at=_started_at(request),
                invitation=invitation,
            )
        except SurveyClosedError:
            return _status_page(request, survey, "closed", 410)
        channels.channel_hold(response, requested_channel)
        token = new_token

    index = next(i for i, p in enumerate(pages) if p.pk == page.pk)
    target = pages[max(index - 1, 0)] if action == "back" else pages[min(index + 1, len(pages) - 1)]
    try:
        response = response_save_page(
            response=response,
            page_position=page.position,
            values=form.values(),
            next_page=target.position if action != "back" else page.position,
            structure=structure,
        )
    except SurveyClosedError:
        return _status_page(request, survey, "closed", 410)

    is_last = index == len(pages) - 1
    # Show-if may have changed which pages follow: recompute before deciding.
    new_values = response_values(response)
    pages_now = _visible_pages(survey, structure, new_values)
    now_index = next((i for i, p in enumerate(pages_now) if p.pk == page.pk), index)
    is_last = now_index == len(pages_now) - 1
    if action == "back" or not is_last:
        if action == "back":
            target = pages_now[max(now_index - 1, 0)]
        else:
            target = pages_now[min(now_index + 1, len(pages_now) - 1)]
        url = reverse("survey:take", args=[survey.slug]) + f"?page={target.position}"
        if editing:
            url += "&edit=1"
        redirect = HttpResponseRedirect(url)
    else:
        try:
            response_submit(response=response, structure=structure)
        except IncompleteResponseError as error:
            missing_page = error.question.page
            url = reverse("survey:take", args=[survey.slug]) + f"?page={missing_page.position}"
            request.session["notice"] = str(error)
            redirect = HttpResponseRedirect(url + ("&edit=1" if editing else ""))
        except (TooFastError, RateLimitedError) as error:
            form = PageForm(
                questions=questions,
                all_questions=structure.questions,
                prior=new_values,
                initial=_initial(structure, page, new_values),
            )
            status = 429 if isinstance(error, RateLimitedError) else 200
            redirect = _render_page(
                request,
                survey,
                pages_now,
                page,
                form,
                token,
                editing,
                preview,
                notice=str(error),
                status=status,
            )
        except SurveyClosedError:
            return _status_page(request, survey, "closed", 410)
        else:
            redirect = HttpResponseRedirect(reverse("survey:thanks", args=[survey.slug]))
    if new_token:
        _set_token(redirect, new_token)
    return redirect


def _go(
    survey: Survey, pages: list[Page], page: Page, action: str, *, editing: bool, preview: bool
) -> HttpResponse:
    index = next(i for i, p in enumerate(pages) if p.pk == page.pk)
    if action != "back" and index == len(pages) - 1:
        return HttpResponseRedirect(reverse("survey:thanks", args=[survey.slug]) + "?preview=1")
    target = pages[max(index - 1, 0)] if action == "back" else pages[index + 1]
    return HttpResponseRedirect(
        reverse("survey:take", args=[survey.slug]) + f"?page={target.position}&preview=1"
    )


def thanks(request: HttpRequest, slug: str) -> HttpResponse:
    survey = survey_by_slug(slug=slug)
    if survey is None:
        return _status_page(request, None, "unknown", 404)
    return render(
        request,
        "survey/thanks.html",
        {"survey": survey, "preview": request.GET.get("preview") == "1"},
    )


def resume(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    survey = survey_by_slug(slug=slug)
    if survey is None:
        return _status_page(request, None, "unknown", 404)
    try:
        raw = signing.loads(token, salt=COOKIE_SALT, max_age=settings.TALLY_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return _status_page(request, survey, "bad-resume", 400)
    redirect = HttpResponseRedirect(reverse("survey:take", args=[survey.slug]))
    _set_token(redirect, raw)
    return redirect


@staff_member_required
def preview(request: HttpRequest, slug: str) -> HttpResponse:
    return HttpResponseRedirect(reverse("survey:take", args=[slug]) + "?preview=1")
