"""Snapshots of published aggregates (filled in by the results issue)."""

from django.db import models

from survey.models import Series


class Snapshot(models.Model):
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="snapshots")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Snapshot {self.pk} of {self.series.slug}"
