"""Authoring in the admin: series, surveys with their pages, questions and choices."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import IntegrityError, models
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from ..models import Choice, Invitation, Page, Question, Series, Survey
from ..services import invitations_create, survey_copy_as_wave


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "k_threshold", "auto_publish", "weighting_enabled"]
    prepopulated_fields = {"slug": ["title"]}
    search_fields = ["title", "slug"]


class PageInline(admin.TabularInline):
    model = Page
    extra = 0
    fields = ["position", "title", "intro"]


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["page", "position", "key", "kind", "text", "required", "is_dimension", "edit"]
    readonly_fields = ["edit"]
    show_change_link = True
    # A default textarea (40 x 10) per row pushed Required and Choices out of sight.
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 30})},
        models.SlugField: {"widget": forms.TextInput(attrs={"size": 16})},
    }

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        return super().get_queryset(request).annotate(choice_count=Count("choices"))

    @admin.display(description="Choices")
    def edit(self, obj: Question) -> str:
        if not obj.pk:
            return "-"
        return f"{getattr(obj, 'choice_count', 0)} choices"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "page":
            survey_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Page.objects.filter(survey_id=survey_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CopyWaveForm(forms.Form):
    slug = forms.SlugField(help_text="Address of the new wave, such as census-2027.")
    wave_label = forms.CharField(max_length=40, help_text="Such as 2027.")
    title = forms.CharField(max_length=200)

    def __init__(self, *args, survey: Survey, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.survey = survey

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if Survey.objects.filter(slug=slug).exists():
            raise forms.ValidationError("A survey with this address exists already.")
        return slug

    def clean_wave_label(self) -> str:
        label = self.cleaned_data["wave_label"].strip()
        if Survey.objects.filter(series=self.survey.series, wave_label=label).exists():
            raise forms.ValidationError("This series has a wave with this label already.")
        return label


class InvitationsForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=5000, initial=10)
    label = forms.CharField(max_length=200, required=False, help_text="A note for admins.")


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["title", "series", "wave_label", "status", "access", "closes_at", "responses"]
    list_filter = ["series", "status", "access", "is_synthetic"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [PageInline, QuestionInline]
    actions = ["open_surveys", "close_surveys"]
    readonly_fields = ["links", "structure"]
    fieldsets = [
        (None, {"fields": ["series", "title", "slug", "wave_label", "links"]}),
        ("Fielding", {"fields": ["status", "access", "opens_at", "closes_at", "min_seconds"]}),
        ("Texts", {"fields": ["intro", "thank_you"]}),
        (
            "Provenance",
            {"fields": ["source", "license", "attribution", "fielded_from", "fielded_to"]},
        ),
        ("Structure", {"fields": ["structure"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Survey]:
        return super().get_queryset(request).select_related("series")

    @admin.display(description="Responses")
    def responses(self, obj: Survey) -> int:
        return obj.responses.count()

    @admin.display(description="Links")
    def links(self, obj: Survey) -> str:
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{}" target="_blank">Preview</a> · <a href="{}">Copy as next wave</a> · '
            '<a href="{}">Invitations</a> · <a href="{}">Public address</a>',
            reverse("survey:take", args=[obj.slug], query={"preview": 1}),
            reverse("admin:survey_survey_copy", args=[obj.pk]),
            reverse("admin:survey_survey_invitations", args=[obj.pk]),
            reverse("survey:take", args=[obj.slug]),
        )

    @admin.display(description="Questions and choices")
    def structure(self, obj: Survey) -> str:
        if not obj.pk:
            return "-"
        questions = obj.questions.select_related("page").prefetch_related("choices")
        rows = []
        for question in questions.order_by("page__position", "position"):
            choices = ", ".join(
                f"{c.key}"
                + (" (row)" if c.role == Choice.Role.ROW else "")
                + (" (column)" if c.role == Choice.Role.COLUMN else "")
                for c in question.choices.all()
            )
            rows.append(
                (
                    reverse("admin:survey_question_change", args=[question.pk]),
                    question.page.position,
                    question.key,
                    question.get_kind_display(),
                    choices or "-",
                )
            )
        return format_html(
            "<table><tr><th>Page</th><th>Key</th><th>Kind</th><th>Choices</th></tr>{}</table>",
            format_html_join(
                "",
                '<tr><td>{1}</td><td><a href="{0}">{2}</a></td><td>{3}</td><td>{4}</td></tr>',
                rows,
            ),
        )

    @admin.action(description="Open the selected surveys for answers")
    def open_surveys(self, request: HttpRequest, queryset: QuerySet[Survey]) -> None:
        count = queryset.update(status=Survey.Status.OPEN)
        self.message_user(request, f"Opened {count} survey(s).", messages.SUCCESS)

    @admin.action(description="Close the selected surveys")
    def close_surveys(self, request: HttpRequest, queryset: QuerySet[Survey]) -> None:
        count = queryset.update(status=Survey.Status.CLOSED, closes_at=timezone.now())
        self.message_user(request, f"Closed {count} survey(s).", messages.SUCCESS)

    def get_urls(self):
        own = [
            path(
                "<int:pk>/copy/",
                self.admin_site.admin_view(self.copy_view),
                name="survey_survey_copy",
            ),
            path(
                "<int:pk>/invitations/",
                self.admin_site.admin_view(self.invitations_view),
                name="survey_survey_invitations",
            ),
        ]
        return own + super().get_urls()

    def copy_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        survey = get_object_or_404(Survey, pk=pk)
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = CopyWaveForm(request.POST or None, survey=survey)
        if request.method == "POST" and form.is_valid():
            try:
                copy = survey_copy_as_wave(survey=survey, **form.cleaned_data)
            except IntegrityError:
                form.add_error(None, "That address or wave label was taken meanwhile.")
            else:
                self.message_user(
                    request,
                    f"Created {copy.title} as a draft with the same keys.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:survey_survey_change", args=[copy.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Copy {survey.title} as the next wave",
            "form": form,
            "survey": survey,
            "opts": self.model._meta,
        }
        return render(request, "admin/survey/copy_wave.html", context)

    def invitations_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        survey = get_object_or_404(Survey, pk=pk)
        form = InvitationsForm(request.POST or None)
        links: list[str] = []
        if request.method == "POST" and form.is_valid():
            tokens = invitations_create(survey=survey, **form.cleaned_data)
            links = [
                request.build_absolute_uri(
                    reverse("survey:take", args=[survey.slug], query={"invite": token})
                )
                for token in tokens
            ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Invitations to {survey.title}",
            "form": form,
            "survey": survey,
            "links": links,
            "issued": Invitation.objects.filter(survey=survey).count(),
            "opts": self.model._meta,
        }
        return render(request, "admin/survey/invitations.html", context)


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 1
    fields = ["role", "position", "key", "label", "is_other", "needs_review"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["key", "survey", "page", "kind", "required", "is_dimension"]
    list_filter = ["survey", "kind", "is_dimension"]
    search_fields = ["key", "text"]
    inlines = [ChoiceInline]
    raw_id_fields = ["show_if_question"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "page":
            kwargs["queryset"] = Page.objects.select_related("survey")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["survey", "label", "created_at", "used_at"]
    list_filter = ["survey"]
    readonly_fields = ["token_hash", "created_at", "used_at"]
