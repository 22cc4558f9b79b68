"""Questionnaires, responses, curation and the taxonomy of canonical entities."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

if TYPE_CHECKING:
    from django.http import HttpRequest

ORIGIN_RE = re.compile(r"^https?://(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:[0-9]{1,5})?$")


def validate_origins(value: str) -> None:
    """Space-separated web origins, as a CSP frame-ancestors source list takes them."""
    bad = [item for item in value.split() if not ORIGIN_RE.match(item)]
    if bad:
        raise ValidationError(
            f"Not an origin such as https://blog.example.org: {', '.join(bad)}",
            code="invalid_origin",
        )


class Series(models.Model):
    """A trend line across waves: the surveys that share question and choice keys."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    k_threshold = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(5)],
        help_text="Counts between 1 and k-1 are suppressed. Never below 5.",
    )
    auto_publish = models.BooleanField(
        default=False, help_text="Publish each rebuilt snapshot that passes the audit."
    )
    weighting_enabled = models.BooleanField(default=False)
    employer_cap = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Most accepted responses that count per normalized company (blank: no cap).",
    )
    is_synthetic = models.BooleanField(
        default=False, help_text="Demo data: every page and file that shows it says so."
    )
    quick_poll_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quick_polls",
        help_text="A poll series asking this series' question: shown beside it as a "
        "quick-poll channel, never pooled with its waves.",
    )
    report_spec = models.JSONField(
        default=dict,
        blank=True,
        help_text="How the report reads: headline question, focus choices, derived measures "
        "and charts (see survey/census.py's REPORT_SPEC). Empty: a generic report.",
    )

    class Meta:
        verbose_name_plural = "series"
        constraints = [
            models.CheckConstraint(condition=Q(k_threshold__gte=5), name="series_k_at_least_5")
        ]

    def __str__(self) -> str:
        return self.title


class SurveyQuerySet(models.QuerySet):
    def accepting(self) -> SurveyQuerySet:
        now = timezone.now()
        return (
            self.filter(status=Survey.Status.OPEN)
            .exclude(closes_at__lte=now)
            .exclude(opens_at__gt=now)
        )

    def polls(self) -> SurveyQuerySet:
        return self.filter(is_poll=True)


class Survey(models.Model):
    """One wave of a series."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Access(models.TextChoices):
        PUBLIC = "public", "Anyone with the link"
        INVITE = "invite", "Invitation only"

    class ResultsVisibility(models.TextChoices):
        AFTER_VOTE = "after_vote", "After voting"
        AFTER_CLOSE = "after_close", "Only after the poll closes"
        ALWAYS = "always", "Always"

    series = models.ForeignKey(Series, on_delete=models.PROTECT, related_name="surveys")
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    wave_label = models.CharField(max_length=40, help_text="How the wave is named in reports.")
    intro = models.TextField(blank=True)
    thank_you = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    access = models.CharField(max_length=10, choices=Access.choices, default=Access.PUBLIC)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    fielded_from = models.DateField(null=True, blank=True)
    fielded_to = models.DateField(null=True, blank=True)
    min_seconds = models.PositiveIntegerField(
        default=20, help_text="Submissions faster than this are refused as likely automated."
    )
    source = models.CharField(max_length=200, blank=True, help_text="Who collected the data.")
    license = models.CharField(max_length=200, blank=True)
    attribution = models.CharField(max_length=300, blank=True)
    is_synthetic = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    is_poll = models.BooleanField(
        default=False, help_text="A quick poll: one question, voted at /p/<slug>/."
    )
    results_visibility = models.CharField(
        max_length=12,
        choices=ResultsVisibility.choices,
        default=ResultsVisibility.AFTER_VOTE,
        help_text="Polls: when the public standing is shown (a running tally biases later voters).",
    )
    frame_ancestors = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_origins],
        help_text="Polls: the sites allowed to embed the poll, space-separated origins "
        "(https://blog.example.org); blank: any site.",
    )
    # Moved by database triggers (migration 0008) whenever a row of the survey's pages,
    # questions or choices is written, whatever writes it; never moves back, so a stale
    # save() of the survey cannot undo it. Per-process caches of the structure key on it.
    structure_version = models.PositiveBigIntegerField(default=0, editable=False)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        ordering = ["series", "wave_label"]
        constraints = [
            models.UniqueConstraint(fields=["series", "wave_label"], name="survey_wave_unique")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        now = timezone.now()
        if self.status != self.Status.OPEN:
            return False
        if self.opens_at and self.opens_at > now:
            return False
        return not (self.closes_at and self.closes_at <= now)

    @property
    def embed_origins(self) -> list[str]:
        return self.frame_ancestors.split()

    def embed_url(self, request: HttpRequest | None) -> str:
        """The widget's absolute address: on SITE_URL when set, else where the request came."""
        path = reverse("survey:poll-embed", args=[self.slug])
        if settings.SITE_URL:
            return settings.SITE_URL.rstrip("/") + path
        return request.build_absolute_uri(path) if request is not None else path

    def embed_snippet(self, request: HttpRequest | None) -> str:
        """The HTML an author pastes to embed the poll (an iframe of /p/<slug>/embed/)."""
        url = self.embed_url(request)
        return (
            f'<iframe src="{escape(url)}" title="Poll: {escape(self.title)}" width="100%" '
            'height="460" loading="lazy"></iframe>'
        )


class PollManager(models.Manager):
    def get_queryset(self) -> SurveyQuerySet:
        return SurveyQuerySet(self.model, using=self._db).filter(is_poll=True)


class Poll(Survey):
    """Quick polls in the admin: the same rows as Survey, those marked is_poll."""

    objects = PollManager()  # type: ignore[assignment, misc]

    class Meta:
        proxy = True


class Page(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="pages")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    intro = models.TextField(blank=True)

    class Meta:
        ordering = ["survey", "position"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "position"], name="page_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class Question(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTI = "multi", "Multiple choice"
        MATRIX = "matrix", "Matrix (one column per row)"
        SCALE = "scale", "Scale"
        NUMBER = "number", "Number"
        TEXT = "text", "Free text"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    key = models.SlugField(
        max_length=60, help_text="Stable across waves; the trend joins on it. Never reuse."
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.TextField()
    help_text = models.CharField(max_length=300, blank=True)
    required = models.BooleanField(default=False)
    is_dimension = models.BooleanField(
        default=False, help_text="Reports break results down by this question."
    )
    has_other = models.BooleanField(default=False, help_text='Offer "Other, please specify".')
    is_sensitive = models.BooleanField(
        default=False, help_text="Identifying (such as a company name): never published."
    )
    show_if_question = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dependants",
        help_text="Ask only when this earlier question's answer is one of the keys below.",
    )
    show_if_choice_keys = models.JSONField(default=list, blank=True)
    min_value = models.IntegerField(null=True, blank=True)
    max_value = models.IntegerField(null=True, blank=True)
    max_length = models.PositiveIntegerField(default=2000)
    max_selections = models.PositiveSmallIntegerField(null=True, blank=True)
    universe = models.CharField(
        max_length=300,
        blank=True,
        help_text="Who was asked, when not everyone who reached the question "
        "(e.g. 'not shown to students'). A change between waves is a universe break.",
    )
    differs_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="An earlier single-choice question this answer must differ from "
        "(moved from X to Y: Y is not X).",
    )
    grouped_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="groupings",
        help_text="A coarser question derived from this one (country -> region): each "
        "choice's group_key names the coarser choice it adds up into.",
    )

    class Meta:
        ordering = ["page__position", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "key"], name="question_key_unique"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def is_closed(self) -> bool:
        """Answered by picking choices: published as a table of shares."""
        from .kinds import behaviour  # kinds builds on these models

        return behaviour(self.kind).is_table

    @property
    def can_segment(self) -> bool:
        """Reports may break other questions down by this one."""
        from .kinds import behaviour

        return behaviour(self.kind).is_segment

    def _choices(self, role: str) -> list[Choice]:
        # The prefetched list itself when there is one: `self.choices.all()` builds a manager
        # and a queryset on each call, and validating one submission asks ~50 times.
        prefetched = getattr(self, "_prefetched_objects_cache", {}).get("choices")
        choices = self.choices.all() if prefetched is None else prefetched
        return [c for c in choices if c.role == role]

    @property
    def options(self) -> list[Choice]:
        """The choices offered (single, multi, scale), in order; uses prefetched choices."""
        return self._choices(Choice.Role.OPTION)

    @property
    def rows(self) -> list[Choice]:
        """A matrix's rows, in order."""
        return self._choices(Choice.Role.ROW)

    @property
    def columns(self) -> list[Choice]:
        """A matrix's columns, in order."""
        return self._choices(Choice.Role.COLUMN)


class Choice(models.Model):
    """An option of a question; for a matrix, a row or a column."""

    class Role(models.TextChoices):
        OPTION = "option", "Option"
        ROW = "row", "Matrix row"
        COLUMN = "column", "Matrix column"

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.OPTION)
    key = models.SlugField(max_length=80)
    label = models.CharField(max_length=300)
    position = models.PositiveSmallIntegerField(default=0)
    is_other = models.BooleanField(default=False)
    is_exclusive = models.BooleanField(
        default=False, help_text='Cannot be chosen together with another option ("None").'
    )
    needs_review = models.BooleanField(
        default=False, help_text="Created by an import from a label the taxonomy did not know."
    )
    group_key = models.SlugField(
        max_length=80,
        blank=True,
        help_text="The key of the choice of the question's grouped_into question that this "
        "choice adds up into (blank: none).",
    )

    class Meta:
        ordering = ["question", "role", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "role", "key"], name="choice_key_unique_per_role"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Invitation(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    label = models.CharField(max_length=200, blank=True, help_text="A note for admins only.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.label or f"Invitation {self.pk}"


class ResponseQuerySet(models.QuerySet):
    def complete(self) -> ResponseQuerySet:
        return self.filter(status=Response.Status.COMPLETE)

    def accepted(self) -> ResponseQuerySet:
        return self.complete().filter(curation=Response.Curation.ACCEPTED)


class Response(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        COMPLETE = "complete", "Complete"

    class Curation(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        EXCLUDED = "excluded", "Excluded"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    channel = models.CharField(max_length=60, default="direct")
    channel_requested = models.CharField(
        max_length=60,
        blank=True,
        default="",
        db_default="",  # raw COPY writers (importer, benches) need not know it
        help_text="The channel the client named, until approved.",
    )
    respondent_hash = models.CharField(max_length=64)
    ip_hash = models.CharField(max_length=64, blank=True)
    invitation = models.OneToOneField(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="response"
    )
    current_page = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    curation = models.CharField(max_length=10, choices=Curation.choices, default=Curation.ACCEPTED)
    exclusion_reason = models.CharField(max_length=300, blank=True)
    curated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    curated_at = models.DateTimeField(null=True, blank=True)
    quality_flags = models.JSONField(default=list, blank=True)
    company_normalized = models.CharField(max_length=200, blank=True)
    source_row = models.CharField(max_length=60, blank=True, help_text="Row id in an import.")

    objects = ResponseQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "respondent_hash"], name="one_response_per_respondent"
            ),
        ]
        indexes = [
            models.Index(fields=["survey", "status", "curation"]),
            models.Index(fields=["submitted_at"]),
            models.Index(fields=["ip_hash"]),
        ]

    def __str__(self) -> str:
        return f"Response {self.pk} to {self.survey.slug}"


class Answer(models.Model):
    """One selected choice, one matrix cell, or one value."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    choice = models.ForeignKey(
        Choice, on_delete=models.CASCADE, null=True, blank=True, related_name="answers"
    )
    column = models.ForeignKey(
        Choice, on_delete=models.CASCADE, null=True, blank=True, related_name="column_answers"
    )
    value_number = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    value_text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question", "choice"],
                condition=Q(choice__isnull=False),
                name="answer_one_per_choice",
            ),
            models.UniqueConstraint(
                fields=["response", "question"],
                condition=Q(choice__isnull=True),
                name="answer_one_value",
            ),
        ]
        indexes = [models.Index(fields=["question", "choice", "column"])]

    def __str__(self) -> str:
        return f"{self.question.key}={self.choice_id or self.value_number or self.value_text!r}"


class CurationLog(models.Model):
    class Action(models.TextChoices):
        EXCLUDE = "exclude", "Excluded"
        RESTORE = "restore", "Restored"
        MAP_OTHER = "map_other", "Mapped other text"

    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, null=True, blank=True, related_name="curation_logs"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    reason = models.CharField(max_length=300)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.reason}"


class TaxonomyVersion(models.Model):
    """Each change to entities or aliases makes a new version; snapshots record the one used."""

    number = models.PositiveIntegerField(unique=True)
    note = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"v{self.number}: {self.note}"


class Entity(models.Model):
    """A canonical thing answers can name: a framework, a company, a role."""

    kind = models.SlugField(max_length=40, default="framework")
    key = models.SlugField(max_length=80)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )

    class Meta:
        verbose_name_plural = "entities"
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="entity_key_unique")]

    def __str__(self) -> str:
        return self.name


class Alias(models.Model):
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="aliases")
    text = models.CharField(max_length=200, help_text="Matched after normalizing case and spaces.")
    normalized = models.CharField(max_length=200, editable=False)
    approved = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "aliases"
        constraints = [
            models.UniqueConstraint(fields=["entity", "normalized"], name="alias_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.text} -> {self.entity.key}"


class TaxonomyChange(models.Model):
    """Who changed what in the taxonomy, and when."""

    version = models.ForeignKey(TaxonomyVersion, on_delete=models.CASCADE, related_name="changes")
    description = models.CharField(max_length=400)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return self.description


class Channel(models.Model):
    """A recruitment channel name (`?ch=` links, the API's `channel`). Names anonymous clients
    choose are held here until an admin approves them; until then their responses count
    under the default channel on every public page."""

    name = models.CharField(max_length=60, unique=True)
    approved = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["approved", "name"]

    def __str__(self) -> str:
        return self.name
