"""Outside signals: published aggregates from elsewhere, each a series of its own kind.

A `Source` is one file's worth of figures (PyPI downloads, GitHub developers, papers) with
what it measures, its unit, licence and known biases. A `Value` is one figure for a period,
a scope (an economy, a venue, or the whole source) and a label as the source spells it
(`tensorflow-cpu`), with the taxonomy entity it maps to (`tensorflow`). A value the source
does not publish (GitHub's under-100 rule, a package outside a top-N list) is a row with no
number and a reason: missing, never zero. A `Break` marks where a source's figures stop
being comparable with earlier ones.
"""

from __future__ import annotations

from django.db import models


class Source(models.Model):
    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    url = models.URLField(max_length=300)
    licence = models.CharField(max_length=300)
    attribution = models.TextField()
    unit = models.CharField(max_length=80, help_text="Short, for chart labels: 'downloads'.")
    measures = models.TextField(help_text="What one figure counts.")
    biases = models.TextField(help_text="Known biases, for the page beside the chart.")
    missing_rule = models.TextField(blank=True, help_text="What a missing figure means.")
    scope_kind = models.CharField(
        max_length=40, blank=True, help_text="What a scope is (economy, venue); blank if none."
    )
    # Downloads of tensorflow and tensorflow-cpu add up; developers pushing to repositories
    # tagged pytorch and to ones tagged torch may be the same people, so their figures do not.
    additive = models.BooleanField(
        default=True, help_text="Figures of labels mapped to one entity add up."
    )
    format = models.SlugField(max_length=40)
    file_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name


class Break(models.Model):
    """From `start` (to `end`, for a stretch) figures are not comparable with earlier ones."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="breaks")
    start = models.DateField()
    end = models.DateField(null=True, blank=True)
    label = models.CharField(max_length=200)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["source", "start"]

    def __str__(self) -> str:
        return f"{self.source.key} {self.start}: {self.label}"


class Value(models.Model):
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="values")
    period = models.CharField(max_length=40, help_text="As the source names it: 2020-Q1.")
    period_start = models.DateField()
    period_end = models.DateField()
    scope = models.CharField(max_length=40, blank=True, help_text="Economy or venue; blank: all.")
    label = models.CharField(max_length=80, help_text="As the source spells it.")
    entity_key = models.SlugField(
        max_length=80, blank=True, help_text="Framework taxonomy key; blank if it names none."
    )
    value = models.BigIntegerField(null=True, blank=True)
    missing = models.CharField(
        max_length=200, blank=True, help_text="Why there is no value (never zero)."
    )

    class Meta:
        ordering = ["source", "period_end", "scope", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "period", "scope", "label"], name="signal_value_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(value__isnull=False) | ~models.Q(missing=""),
                name="signal_value_or_reason",
            ),
        ]
        indexes = [models.Index(fields=["source", "entity_key"])]

    def __str__(self) -> str:
        return f"{self.source.key} {self.period} {self.scope} {self.label}"
