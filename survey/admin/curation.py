"""Curation in the admin: responses, exclusions with reasons, "other" texts, companies."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from ..curation import (
    COMPANY_KIND,
    FLAGS,
    CurationError,
    company_counts,
    entity_create,
    other_mapping_approve,
    other_text_groups,
    response_exclude,
    response_restore,
)
from ..models import CurationLog, Entity, Response, Survey
from ..selectors import response_values
from ..taxonomy import QUESTION_KINDS

REVIEW_KINDS = sorted(set(QUESTION_KINDS.values())) + [COMPANY_KIND]


class QualityFlagFilter(admin.SimpleListFilter):
    title = "quality flag"
    parameter_name = "flag"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(flag, flag) for flag in FLAGS] + [("any", "any flag"), ("none", "no flag")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Response]) -> QuerySet[Response]:
        value = self.value()
        if value == "any":
            return queryset.exclude(quality_flags=[])
        if value == "none":
            return queryset.filter(quality_flags=[])
        if value in FLAGS:
            return queryset.filter(quality_flags__contains=[value])
        return queryset


class CurationLogInline(admin.TabularInline):
    model = CurationLog
    extra = 0
    fields = ["at", "action", "reason", "user"]
    readonly_fields = ["at", "action", "reason", "user"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=300, help_text="Reports list exclusions by this reason: name the rule."
    )


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "survey",
        "channel",
        "status",
        "curation",
        "flags",
        "duration_seconds",
        "submitted_at",
    ]
    list_filter = ["survey", "channel", "status", "curation", QualityFlagFilter]
    search_fields = ["=id", "source_row", "exclusion_reason", "company_normalized"]
    list_select_related = ["survey"]
    list_per_page = 100
    readonly_fields = [
        "answers",
        "survey",
        "status",
        "channel",
        "respondent_hash",
        "ip_hash",
        "invitation",
        "current_page",
        "started_at",
        "updated_at",
        "submitted_at",
        "duration_seconds",
        "curation",
        "exclusion_reason",
        "curated_by",
        "curated_at",
        "quality_flags",
        "company_normalized",
        "source_row",
    ]
    inlines = [CurationLogInline]
    actions = ["exclude_responses", "restore_responses"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # exclude instead: the log and the report's counts stay truthful

    @admin.display(description="Answers")
    def answers(self, obj: Response) -> str:
        """What was answered, so an admin deciding on an exclusion can see it."""
        values = response_values(obj)
        rows = []
        for question in obj.survey.questions.prefetch_related("choices").order_by(
            "page__position", "position"
        ):
            value = values.get(question.key)
            if value is None:
                continue
            labels = {(c.role, c.key): c.label for c in question.choices.all()}
            if isinstance(value, dict):
                shown = "; ".join(
                    f"{labels.get(('row', r), r)}: {labels.get(('column', c), c)}"
                    for r, c in value.items()
                )
            elif isinstance(value, list):
                shown = ", ".join(labels.get(("option", v)) or v for v in value)
            else:
                shown = labels.get(("option", str(value)), str(value))
            other = values.get(f"{question.key}__other")
            if other:
                shown += f" (other: {other})"
            rows.append((question.key, question.text, shown))
        if not rows:
            return "-"
        return format_html(
            "<table><tr><th>Key</th><th>Question</th><th>Answer</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description="Flags")
    def flags(self, obj: Response) -> str:
        return ", ".join(obj.quality_flags) or "-"

    @admin.action(description="Exclude selected responses (asks for a reason)")
    def exclude_responses(self, request: HttpRequest, queryset: QuerySet[Response]) -> Any:
        return self._with_reason(request, queryset, response_exclude, "Exclude")

    @admin.action(description="Restore selected responses (asks for a reason)")
    def restore_responses(self, request: HttpRequest, queryset: QuerySet[Response]) -> Any:
        return self._with_reason(request, queryset, response_restore, "Restore")

    def _with_reason(
        self, request: HttpRequest, queryset: QuerySet[Response], service: Any, verb: str
    ) -> HttpResponse | None:
        form = ReasonForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                done = service(
                    response_ids=list(queryset.values_list("pk", flat=True)),
                    reason=form.cleaned_data["reason"],
                    user=request.user,
                )
            except CurationError as error:
                self.message_user(request, str(error), messages.ERROR)
                return None
            self.message_user(request, f"{verb}d {done} responses: {form.cleaned_data['reason']}")
            return None
        return render(
            request,
            "admin/survey/curation_reason.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{verb} {queryset.count()} responses",
                "verb": verb,
                "form": form,
                "responses": queryset[:50],
                "count": queryset.count(),
                "action": request.POST.get("action"),
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "opts": self.model._meta,
            },
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("review/", view(self.review_view), name="survey_response_review"),
            path("companies/", view(self.companies_view), name="survey_response_companies"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "review_url": reverse("admin:survey_response_review"),
            "companies_url": reverse("admin:survey_response_companies"),
        }
        return super().changelist_view(request, extra_context)

    def review_view(self, request: HttpRequest) -> HttpResponse:
        """Group unmapped "other" texts (or company names) and approve mappings in bulk."""
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        kind = request.GET.get("kind", "framework")
        if kind not in REVIEW_KINDS:
            kind = "framework"
        if request.method == "POST":
            approved = 0
            for index in request.POST.getlist("group"):
                texts = request.POST.getlist(f"texts-{index}")
                new_name = request.POST.get(f"new-{index}", "").strip()
                entity_id = request.POST.get(f"entity-{index}", "")
                entity: Entity | None
                try:
                    if new_name:
                        entity = entity_create(kind=kind, name=new_name, user=request.user)
                    elif entity_id.isdigit():
                        entity = Entity.objects.filter(pk=entity_id, kind=kind).first()
                    else:
                        entity = None
                    if entity is None or not texts:
                        continue
                    other_mapping_approve(kind=kind, texts=texts, entity=entity, user=request.user)
                except CurationError as error:
                    self.message_user(request, f"Not approved: {error}", messages.ERROR)
                    continue
                approved += 1
            self.message_user(
                request,
                f"Approved {approved} mappings; they count in the next snapshot.",
            )
            review = reverse("admin:survey_response_review", query={"kind": kind})
            return HttpResponseRedirect(review)
        groups = other_text_groups(kind=kind)
        return render(
            request,
            "admin/survey/other_review.html",
            {
                **self.admin_site.each_context(request),
                "title": "Review free texts",
                "kind": kind,
                "kinds": REVIEW_KINDS,
                "groups": groups,
                "entities": Entity.objects.filter(kind=kind).order_by("name"),
                "opts": self.model._meta,
            },
        )

    def companies_view(self, request: HttpRequest) -> HttpResponse:
        """Accepted responses per normalized company: is one employer dominating?"""
        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        survey_id = request.GET.get("survey", "")
        survey = Survey.objects.filter(pk=survey_id).first() if survey_id.isdigit() else None
        return render(
            request,
            "admin/survey/companies.html",
            {
                **self.admin_site.each_context(request),
                "title": "Responses per company (admins only, never published)",
                "rows": company_counts(survey_id=survey.pk if survey else None)[:500],
                "surveys": Survey.objects.order_by("series", "wave_label"),
                "survey": survey,
                "opts": self.model._meta,
            },
        )


@admin.register(CurationLog)
class CurationLogAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "response", "reason", "user"]
    list_filter = ["action"]
    search_fields = ["reason"]
    readonly_fields = ["response", "action", "reason", "user", "at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
