"""The read-only results API: series with a published snapshot, their summary, their cells."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import generics
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from .models import Cell, Snapshot
from .selectors import (
    CELL_FIELDS,
    published_series,
    published_snapshot,
    snapshot_cells,
    summary_questions,
    summary_waves,
)
from .serializers import (
    CellFilterSerializer,
    CellSerializer,
    SeriesDetailSerializer,
    SeriesSerializer,
)


class PublicReadOnly:
    """Public aggregates: no login, no session, so nothing to forge and nothing to throttle."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


def _snapshot_or_404(slug: str) -> Snapshot:
    snapshot = published_snapshot(slug)
    if snapshot is None:
        raise NotFound(f"No published report for series '{slug}'.")
    return snapshot


class SeriesList(PublicReadOnly, generics.ListAPIView):
    """Series with a published report."""

    serializer_class = SeriesSerializer

    def get_queryset(self) -> Any:
        return published_series()


class SeriesDetail(PublicReadOnly, generics.GenericAPIView):
    """A series and the summary of its latest published snapshot."""

    serializer_class = SeriesDetailSerializer

    def get(self, request: Request, slug: str) -> Response:
        snapshot = _snapshot_or_404(slug)
        series = snapshot.series
        series.last_published_at = snapshot.published_at
        series.snapshot = snapshot
        return Response(self.get_serializer(series).data)


def _known(name: str, value: str, known: list[str]) -> None:
    if value not in known:
        listed = ", ".join(known) or "none"
        raise ValidationError({name: [f"Unknown {name} '{value}'. Known values: {listed}."]})


def _cell_questions(snapshot: Snapshot) -> list[str]:
    return list(snapshot_cells(snapshot).order_by().values_list("question", flat=True).distinct())


@extend_schema(
    parameters=[
        OpenApiParameter("wave", OpenApiTypes.STR, description="Wave label, e.g. 2026."),
        OpenApiParameter("question", OpenApiTypes.STR, description="Question key."),
        OpenApiParameter("measure", OpenApiTypes.STR, enum=Cell.Measure.values),
        OpenApiParameter(
            "dimension",
            OpenApiTypes.STR,
            description="A dimension question key, or 'none' for overall rows only.",
        ),
    ]
)
class CellList(PublicReadOnly, generics.ListAPIView):
    """Cells of the latest published snapshot; suppressed values are null with a flag."""

    serializer_class = CellSerializer

    def get_queryset(self) -> Any:
        snapshot = _snapshot_or_404(self.kwargs["slug"])
        params = CellFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        wanted = params.validated_data
        summary = snapshot.summary or {}
        questions = summary_questions(summary)
        filters: dict[str, str] = {}
        if "wave" in wanted:
            _known("wave", wanted["wave"], [w["label"] for w in summary_waves(summary)])
            filters["wave"] = wanted["wave"]
        if "question" in wanted:
            keys = [q["key"] for q in questions if q.get("published", True)]
            if wanted["question"] not in keys:
                # Derived measures (migration...) may use keys the summary does not list.
                keys = sorted({*keys, *_cell_questions(snapshot)})
            _known("question", wanted["question"], keys)
            filters["question"] = wanted["question"]
        if "measure" in wanted:
            filters["measure"] = wanted["measure"]
        if "dimension" in wanted:
            dimensions = [q["key"] for q in questions if q.get("is_dimension")]
            if wanted["dimension"] == "none":
                filters["dimension"] = ""
            else:
                _known("dimension", wanted["dimension"], [*dimensions, "none"])
                filters["dimension"] = wanted["dimension"]
        return snapshot_cells(snapshot, filters).values(*CELL_FIELDS)


class SchemaView(SpectacularAPIView):
    pass


class DocsView(SpectacularSwaggerSplitView):
    # The packaged template has an inline <style>, which the strict CSP refuses.
    template_name = "results/swagger_ui.html"
