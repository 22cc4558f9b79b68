"""Snapshots: immutable, disclosure-controlled aggregates, and the jobs that build them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from survey.models import Series


class SnapshotQuerySet(models.QuerySet):
    def published(self) -> SnapshotQuerySet:
        return self.filter(published_at__isnull=False)

    def latest_published(self, series: Series) -> Snapshot | None:
        return self.filter(series=series).published().order_by("-published_at", "-pk").first()


class Snapshot(models.Model):
    """One build of a series' aggregates. Never changed after it is built, except that it
    can be published (published_at set)."""

    class Status(models.TextChoices):
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="snapshots")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BUILDING)
    created_at = models.DateTimeField(auto_now_add=True)
    built_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The inputs, recorded so a snapshot says how it was made (DESIGN invariant 4).
    watermark = models.DateTimeField(
        null=True, blank=True, help_text="Latest change to an accepted response it includes."
    )
    response_count = models.PositiveIntegerField(default=0)
    inputs_digest = models.CharField(max_length=64, blank=True)
    taxonomy_version = models.PositiveIntegerField(null=True, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    summary = models.JSONField(
        default=dict, blank=True, help_text="n per wave and channel, exclusions, fielding, breaks."
    )
    audit_passed = models.BooleanField(null=True)
    audit_report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"Snapshot {self.pk} of {self.series.slug}"


class Cell(models.Model):
    """One published number with its base, interval and flag."""

    class Measure(models.TextChoices):
        SHARE = "share", "Share of those asked and answering"
        CHANGE = "change", "Change since the previous comparable wave"
        RETENTION = "retention", "Of those who ever used it, share still using it"
        MIGRATION = "migration", "Share of switchers moving from one framework to another"

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="cells")
    measure = models.CharField(max_length=10, choices=Measure.choices, default=Measure.SHARE)
    wave = models.CharField(max_length=40)
    compare_wave = models.CharField(max_length=40, blank=True)
    question = models.CharField(max_length=60)
    choice = models.CharField(max_length=80, blank=True)
    option = models.CharField(max_length=80, blank=True, help_text="Matrix column, or 'to'.")
    dimension = models.CharField(max_length=60, blank=True)
    segment = models.CharField(max_length=80, blank=True)
    base_n = models.PositiveIntegerField(null=True, blank=True)
    count = models.PositiveIntegerField(null=True, blank=True)
    share = models.FloatField(null=True, blank=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    share_weighted = models.FloatField(null=True, blank=True)
    ci_low_weighted = models.FloatField(null=True, blank=True)
    ci_high_weighted = models.FloatField(null=True, blank=True)
    n_eff = models.FloatField(null=True, blank=True)
    design_effect = models.FloatField(null=True, blank=True)
    flag = models.CharField(max_length=40, blank=True)
    reason = models.CharField(
        max_length=20,
        blank=True,
        help_text="Why a value is hidden (small, small-base, secondary): for admins, never public.",
    )

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["snapshot", "measure", "question"]),
            models.Index(fields=["snapshot", "wave"]),
        ]

    def __str__(self) -> str:
        return f"{self.wave} {self.question}/{self.choice}/{self.option} {self.share}"


class RebuildJob(models.Model):
    """A request to rebuild a series; workers claim it under a row lock."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="rebuild_jobs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    publish = models.BooleanField(default=False, help_text="Publish the result if it passes.")
    progress = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], help_text="Percent done."
    )
    message = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    snapshot = models.ForeignKey(
        Snapshot, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # At most one job waiting or running per series: refresh is safe to run twice.
            models.UniqueConstraint(
                fields=["series"],
                condition=Q(status__in=["queued", "running"]),
                name="one_open_job_per_series",
            )
        ]

    def __str__(self) -> str:
        return f"Rebuild {self.series.slug} ({self.status})"


class WeightingTarget(models.Model):
    """A population margin an admin enters for raking, with its source."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="weighting_targets")
    dimension = models.SlugField(max_length=60, help_text="Question key, e.g. company_size.")
    segment = models.SlugField(max_length=80, help_text="Choice key, e.g. 10000-plus.")
    share = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    source = models.CharField(max_length=300)

    class Meta:
        ordering = ["series", "dimension", "segment"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "dimension", "segment"], name="weighting_target_unique"
            ),
            models.CheckConstraint(
                condition=Q(share__gte=0) & Q(share__lte=1), name="weighting_share_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dimension}={self.segment}: {self.share:.3f}"


class ChartImage(models.Model):
    """A chart of a published snapshot, rendered once and served as a file."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="charts")
    name = models.SlugField(max_length=120)
    svg = models.TextField()
    png = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "name"], name="chart_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class RefreshStatus(models.Model):
    """When the periodic refresh (beat's task or `refresh_reports --every`) last ran and failed.

    One row per runner; /healthz and the admin call the refresh stale once it has not
    succeeded for two intervals.
    """

    name = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    interval_seconds = models.PositiveIntegerField(default=60)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    failures_in_a_row = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "refresh status"

    def __str__(self) -> str:
        return f"Refresh {self.name}"

    def is_stale(self, now: datetime | None = None) -> bool:
        """No success for two intervals (counted from its first run when it never succeeded)."""
        since = self.last_success_at or self.created_at
        return (now or timezone.now()) - since > timedelta(seconds=2 * self.interval_seconds)
