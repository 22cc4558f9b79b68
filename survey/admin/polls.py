"""Quick polls in the admin: create, open, close, schedule the next round, get the snippet."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import IntegrityError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import slugify

from ..models import Poll, Series, Survey, validate_origins
from ..poll_services import poll_create, poll_schedule_next
from ..services import SurveyError


def _choices(text: str) -> list[tuple[str, str]]:
    """One answer per line; "key: Label" keeps a chosen key (a Census key, say)."""
    found: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        key, _, label = line.partition(":") if ":" in line else ("", "", line)
        label = label.strip() or key.strip()
        key = slugify(key.strip() or label)[:80]
        if not key:
            raise forms.ValidationError(f"{line!r} gives no key: use letters or digits.")
        found.append((key, label[:300]))
    keys = [key for key, _ in found]
    if len(found) < 2:
        raise forms.ValidationError("A poll needs at least two answers.")
    if len(set(keys)) != len(keys) or "other" in keys:
        raise forms.ValidationError('Each answer needs its own key (and "other" is reserved).')
    return found


class PollCreateForm(forms.Form):
    text = forms.CharField(max_length=300, label="Question")
    # Help texts are rendered as HTML: an address pattern in angle brackets would vanish.
    slug = forms.SlugField(
        max_length=50,
        help_text="The end of the poll's address: framework-pick gives /p/framework-pick/.",
    )
    choices = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text='One answer per line. "pytorch: PyTorch" sets the key, as the Census uses it.',
    )
    multiple = forms.BooleanField(required=False, label="Voters may pick several answers")
    has_other = forms.BooleanField(required=False, label='Offer "something else"')
    key = forms.SlugField(
        max_length=60,
        initial="answer",
        help_text="The question's key: the Census' key (primary_framework) to ask its question.",
    )
    quick_poll_of = forms.ModelChoiceField(
        queryset=Series.objects.all(),
        required=False,
        help_text="Mark the poll as a quick-poll channel of this series (never pooled with it).",
    )
    results_visibility = forms.ChoiceField(
        choices=Survey.ResultsVisibility.choices, initial=Survey.ResultsVisibility.AFTER_VOTE
    )
    frame_ancestors = forms.CharField(
        required=False,
        max_length=500,
        validators=[validate_origins],
        help_text="Sites allowed to embed it, space-separated; blank: any site.",
    )
    opens_at = forms.DateTimeField(required=False, help_text="Blank: as soon as it is opened.")
    closes_at = forms.DateTimeField(required=False)
    open_now = forms.BooleanField(required=False, initial=True, label="Open it now")

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if Survey.objects.filter(slug=slug).exists() or Series.objects.filter(slug=slug).exists():
            raise forms.ValidationError("This address is taken.")
        return slug

    def clean_choices(self) -> list[tuple[str, str]]:
        return _choices(self.cleaned_data["choices"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", "A poll must close after it opens.")
        return data


class ScheduleForm(forms.Form):
    opens_at = forms.DateTimeField(help_text="When the next round opens (this one closes then).")
    closes_at = forms.DateTimeField(required=False)


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "wave_label", "status", "opens_at", "closes_at", "votes"]
    list_filter = ["status", "results_visibility"]
    search_fields = ["title", "slug"]
    actions = ["open_polls", "close_polls"]
    readonly_fields = ["series", "slug", "wave_label", "links"]
    # The snippet needs the request (its address comes from SITE_URL or the request's host),
    # which a read-only field never sees: the change form shows it below the fields.
    change_form_template = "admin/survey/poll_change_form.html"
    fields = [
        "title",
        "series",
        "slug",
        "wave_label",
        "links",
        "status",
        "opens_at",
        "closes_at",
        "results_visibility",
        "frame_ancestors",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Poll]:
        return (
            super()
            .get_queryset(request)
            .select_related("series")
            .annotate(vote_count=Count("responses", filter=Q(responses__status="complete")))
        )

    @admin.display(description="Votes", ordering="vote_count")
    def votes(self, obj: Poll) -> int:
        return getattr(obj, "vote_count", 0)

    @admin.display(description="Links")
    def links(self, obj: Poll) -> str:
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{}" target="_blank">Poll page</a> · <a href="{}" target="_blank">Results'
            '</a> · <a href="{}">Schedule the next round</a> · <a href="{}">Question and '
            "answers</a>",
            reverse("survey:poll", args=[obj.slug]),
            reverse("results:poll-results", args=[obj.slug]),
            reverse("admin:survey_poll_schedule", args=[obj.pk]),
            reverse("admin:survey_survey_change", args=[obj.pk]),
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        poll = self.get_object(request, object_id)
        snippet = poll.embed_snippet(request) if poll is not None else ""
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "embed_snippet": snippet}
        )

    @admin.action(description="Open the selected polls")
    def open_polls(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        count = queryset.update(status=Survey.Status.OPEN)
        self.message_user(request, f"Opened {count} poll(s).", messages.SUCCESS)

    @admin.action(description="Close the selected polls")
    def close_polls(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        count = queryset.update(status=Survey.Status.CLOSED, closes_at=timezone.now())
        self.message_user(request, f"Closed {count} poll(s).", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:pk>/schedule/",
                self.admin_site.admin_view(self.schedule_view),
                name="survey_poll_schedule",
            ),
        ]
        return own + super().get_urls()

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = PollCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = dict(form.cleaned_data)
            open_now = data.pop("open_now")
            try:
                poll = poll_create(
                    status=Survey.Status.OPEN if open_now else Survey.Status.DRAFT, **data
                )
            except (IntegrityError, SurveyError) as error:
                form.add_error(None, f"The poll could not be created: {error}")
            else:
                self.message_user(request, f"Created the poll {poll.slug}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:survey_poll_change", args=[poll.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Add a quick poll",
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/survey/poll_add.html", context)

    def schedule_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        poll = get_object_or_404(Poll, pk=pk)
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = ScheduleForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                round_ = poll_schedule_next(poll=poll, **form.cleaned_data)
            except (IntegrityError, SurveyError) as error:
                form.add_error(None, str(error))
            else:
                self.message_user(
                    request,
                    f"The next round opens at /p/{round_.slug}/ on {round_.wave_label}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:survey_poll_change", args=[round_.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Schedule the next round of {poll.title}",
            "form": form,
            "poll": poll,
            "opts": self.model._meta,
        }
        return render(request, "admin/survey/poll_schedule.html", context)
