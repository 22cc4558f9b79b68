"""Shapes of the results API: series, their published summary, and cells."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .disclosure.columns import CELL_SCHEMA, Column
from .models import Cell
from .selectors import cell_public


class SeriesSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()
    description = serializers.CharField()
    is_synthetic = serializers.BooleanField()
    last_published_at = serializers.DateTimeField()
    report = serializers.SerializerMethodField()
    cells = serializers.SerializerMethodField()
    cells_csv = serializers.SerializerMethodField()
    codebook_csv = serializers.SerializerMethodField()

    def _url(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_report(self, series: Any) -> str:
        return self._url(f"/reports/{series.slug}/")

    def get_cells(self, series: Any) -> str:
        return self._url(f"/api/v1/series/{series.slug}/cells/")

    def get_cells_csv(self, series: Any) -> str:
        return self._url(f"/reports/{series.slug}/cells.csv")

    def get_codebook_csv(self, series: Any) -> str:
        return self._url(f"/reports/{series.slug}/codebook.csv")


class SnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    built_at = serializers.DateTimeField(allow_null=True)
    summary = serializers.JSONField(
        help_text="Waves (fielding, n, channels, exclusions, sources), questions and their "
        "wording per wave, wording breaks, k, interval method and weighting."
    )


class SeriesDetailSerializer(SeriesSerializer):
    snapshot = SnapshotSerializer()


def _cell_field(column: Column) -> serializers.Field:
    """The API field of one public column: its type, its meaning, nullable if withheld."""
    nullable = bool(column.withheld) or column.kind == "number"
    if column.name == "measure":
        return serializers.ChoiceField(choices=Cell.Measure.choices, help_text=column.meaning)
    field = {
        "text": serializers.CharField,
        "integer": serializers.IntegerField,
        "fraction": serializers.FloatField,
        "number": serializers.FloatField,
        "boolean": serializers.BooleanField,
    }[column.kind]
    if column.kind == "text":
        return field(help_text=column.meaning, allow_blank=True)
    return field(help_text=column.meaning, allow_null=nullable)


class _CellShape(serializers.Serializer):
    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        # The columns that are the same on every row come from the view's snapshot.
        per_series = {c.name: self.context.get(c.name) for c in CELL_SCHEMA if c.per_series}
        return super().to_representation(cell_public({**instance, **per_series}))


# One published number; values a flag withholds are null. Its fields are the cell's public
# columns (results.disclosure.columns), so the API cannot drift from cells.csv.
CellSerializer = type(
    "CellSerializer",
    (_CellShape,),
    {
        "__doc__": "One published number; values a flag withholds are null.",
        **{column.name: _cell_field(column) for column in CELL_SCHEMA},
    },
)


class CellFilterSerializer(serializers.Serializer):
    """Query parameters of the cells list; each is checked against the published snapshot."""

    wave = serializers.CharField(required=False, max_length=40)
    question = serializers.CharField(required=False, max_length=60)
    measure = serializers.ChoiceField(choices=Cell.Measure.values, required=False)
    dimension = serializers.CharField(
        required=False,
        max_length=60,
        help_text="A dimension question key, or 'none' for overall rows only.",
    )


class ReportErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


def _messages() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(), required=False)


class PageErrorSerializer(serializers.Serializer):
    """A 400 from a list: each bad query parameter with what is wrong with it."""

    limit = _messages()
    offset = _messages()


class CellFilterErrorSerializer(PageErrorSerializer):
    """A 400 from the cells list: each bad query parameter with what is wrong with it."""

    wave = _messages()
    question = _messages()
    measure = _messages()
    dimension = _messages()
