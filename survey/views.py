"""The respondent's side: take a survey page by page, save and resume, edit until it closes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from . import channels, identity, limits
from .flow import Action, Closed, GoTo, Submitted, Visitor, page_answer, pages_visible
from .forms import PageForm
from .identity import COOKIE, COOKIE_SALT
from .kinds import Values
from .models import Invitation, Page, Question, Response, Survey
from .selectors import response_for, response_values, survey_by_slug, survey_row
from .services import Structure, structure_current
from .tasks import response_checks_queue

STARTED_SALT = "tally.started"
CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,59}$")


def _token(request: HttpRequest) -> str | None:
    return identity.cookie_token(request.COOKIES)


def _respondent_hash(survey: Survey, token: str) -> str:
    return identity.survey_respondent_hash(survey.pk, token)


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


def _take_url(survey: Survey, page: int | None = None, *, editing: bool = False) -> str:
    query: dict[str, str | int] = {}
    if page is not None:
        query["page"] = page
    if editing:
        query["edit"] = 1
    return reverse("survey:take", args=[survey.slug], query=query)


@require_http_methods(["GET", "POST"])
def take(request: HttpRequest, slug: str) -> HttpResponse:
    survey = survey_row(slug=slug)
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
            return HttpResponseRedirect(_take_url(survey))
        return render(request, "survey/done.html", {"survey": survey, "response": response})

    # Pages, questions and choices from this process's cache while the survey is unchanged.
    structure = structure_current(survey)
    # The one read of the answers.
    values = response_values(response, questions=structure.questions) if response else {}
    pages = pages_visible(list(structure.pages), structure, values)
    page_view = PageView(request, survey, structure, pages, token, editing, preview)
    if request.method == "POST":
        return _post(page_view, response, invitation, values)

    furthest = (
        response.current_page if response and response.status == Response.Status.DRAFT else None
    )
    page = _page_to_show(request, pages, furthest, editing)
    shown = page_view.render(page, page_view.form(page, values))
    if token is None and not preview:
        # The token before the first post: a double-click on Next finds one draft, not two.
        _set_token(shown, identity.token_new())
    return shown


class PageView:
    """What rendering a page of this survey needs, gathered once per request."""

    def __init__(
        self,
        request: HttpRequest,
        survey: Survey,
        structure: Structure,
        pages: list[Page],
        token: str | None,
        editing: bool,
        preview: bool,
    ) -> None:
        self.request = request
        self.survey = survey
        self.structure = structure
        self.pages = pages
        self.token = token
        self.editing = editing
        self.preview = preview

    def questions(self, page: Page) -> list[Question]:
        return [q for q in self.structure.questions if q.page_id == page.pk]

    def form(self, page: Page, values: Values, data: QueryDict | None = None) -> PageForm:
        questions = self.questions(page)
        return PageForm(
            data,
            questions=questions,
            all_questions=self.structure.questions,
            prior=values,
            initial=None if data is not None else PageForm.initial_for(questions, values),
        )

    def url(self, page: int | None = None) -> str:
        return _take_url(self.survey, page, editing=self.editing)

    def render(
        self,
        page: Page,
        form: PageForm,
        *,
        pages: list[Page] | None = None,
        notice: str = "",
        status: int = 200,
    ) -> HttpResponse:
        request, survey = self.request, self.survey
        pages = pages or self.pages
        index = next((i for i, p in enumerate(pages) if p.pk == page.pk), 0)
        resume_url = None
        if self.token:
            token = signing.dumps(self.token, salt=COOKIE_SALT)
            resume_url = request.build_absolute_uri(
                reverse("survey:resume", args=[survey.slug, token])
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
            "started": signing.dumps(datetime.now(UTC).timestamp(), salt=STARTED_SALT),
            "resume_url": resume_url,
            "editing": self.editing,
            "preview": self.preview,
            "notice": notice or request.session.pop("notice", ""),
        }
        return render(request, "survey/page.html", context, status=status)


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


def _started_at(request: HttpRequest) -> datetime | None:
    try:
        stamp = signing.loads(request.POST.get("started", ""), salt=STARTED_SALT, max_age=86400)
        return datetime.fromtimestamp(float(stamp), tz=UTC)
    except (signing.BadSignature, TypeError, ValueError):
        return None


def _post(
    view: PageView, response: Response | None, invitation: Invitation | None, values: Values
) -> HttpResponse:
    """Validate the posted page, hand it to the respondent flow, map its outcome."""
    request, survey, pages = view.request, view.survey, view.pages
    page = next((p for p in pages if str(p.position) == request.POST.get("page", "")), None)
    furthest = response.current_page if response and response.status == Response.Status.DRAFT else 1
    if page is None or (not view.editing and page.position > furthest):
        # A tampered or stale page number: show the page they are really on.
        return HttpResponseRedirect(_take_url(survey))
    form = view.form(page, values, request.POST)
    if form.is_spam:
        return HttpResponseRedirect(reverse("survey:thanks", args=[survey.slug]))
    action: Action = "back" if request.POST.get("action") == "back" else "next"
    valid = form.is_valid()
    if action == "next" and not valid:
        return view.render(page, form, status=400)
    index = next(i for i, p in enumerate(pages) if p.pk == page.pk)
    if view.preview:
        return _preview_step(survey, pages, index, action)
    if not valid and form.malformed:
        # Back saves an incomplete page (a required answer still missing) but never a
        # malformed one: a junk or tampered value would replace what was saved before.
        return HttpResponseRedirect(view.url(pages[max(index - 1, 0)].position))

    token = view.token or identity.token_new()
    requested_channel = request.session.get(f"ch:{survey.pk}", "")
    if response is None and action == "next":
        if not limits.drafts_allowed(request, identity.ip_hash(_client_ip(request))):
            return _status_page(request, survey, "too-many-drafts", 429)
    outcome = page_answer(
        survey=survey,
        structure=view.structure,
        pages=list(view.structure.pages),
        page=page,
        response=response,
        prior=values,
        page_values=form.values(),
        action=action,
        visitor=Visitor(
            respondent_hash=_respondent_hash(survey, token),
            channel=channels.channel_public(requested_channel, default="direct"),
            ip_hash=identity.ip_hash(_client_ip(request)),
            started_at=_started_at(request),
            invitation=invitation,
        ),
    )
    if outcome.response is not None:
        channels.channel_hold(outcome.response, requested_channel)
    step = outcome.step
    reply: HttpResponse
    if isinstance(step, Closed):
        return _status_page(request, survey, "closed", 410)
    if isinstance(step, Submitted):
        response_checks_queue(survey_id=survey.pk)
        reply = HttpResponseRedirect(reverse("survey:thanks", args=[survey.slug]))
    elif isinstance(step, GoTo):
        if step.notice:
            request.session["notice"] = step.notice
        reply = HttpResponseRedirect(view.url(step.page))
    else:
        view.token = token
        form = view.form(step.page, step.values)
        reply = view.render(
            step.page, form, pages=step.pages, notice=step.notice, status=step.status
        )
    if outcome.response is not None:
        _set_token(reply, token)
    return reply


def _preview_step(survey: Survey, pages: list[Page], index: int, action: Action) -> HttpResponse:
    """Previews move between pages and save nothing."""
    if action == "next" and index == len(pages) - 1:
        return HttpResponseRedirect(
            reverse("survey:thanks", args=[survey.slug], query={"preview": 1})
        )
    target = pages[max(index - 1, 0)] if action == "back" else pages[index + 1]
    return HttpResponseRedirect(
        reverse("survey:take", args=[survey.slug], query={"page": target.position, "preview": 1})
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
    return HttpResponseRedirect(reverse("survey:take", args=[slug], query={"preview": 1}))
