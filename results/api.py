"""The read-only results API: series with a published snapshot, their summary, their cells."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import generics
from rest_framework.authentication import BaseAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import LimitOffsetPagination
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
    CellFilterErrorSerializer,
    CellFilterSerializer,
    CellSerializer,
    PageErrorSerializer,
    ReportErrorSerializer,
    SeriesDetailSerializer,
    SeriesSerializer,
)


class PublicReadOnly:
    """Public aggregates: no login, no session, so nothing to forge and nothing to throttle."""

    authentication_classes: Sequence[type[BaseAuthentication]] = []
    permission_classes: Sequence[Any] = [AllowAny]


MAX_OFFSET = 10**15


class Pagination(LimitOffsetPagination):
    """Limit and offset that say what is wrong with them, instead of DRF's silent fallback
    (and instead of a limit past PostgreSQL's bigint reaching the database)."""

    max_limit = 1000

    def _whole(self, request: Request, name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        # Digits only, and few enough of them that int() is cheap and the value fits.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 18 and low <= int(raw) <= high):
            raise ValidationError(
                {name: [f"{name} must be a whole number from {low} to {high}, not '{raw[:40]}'."]}
            )
        return int(raw)

    def get_limit(self, request: Request) -> int:
        default, most = self.default_limit or 1, self.max_limit or 1
        return self._whole(request, self.limit_query_param, default, 1, most)

    def get_offset(self, request: Request) -> int:
        return self._whole(request, self.offset_query_param, 0, 0, MAX_OFFSET)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        limit, offset = super().get_schema_operation_parameters(view)
        limit["schema"].update(minimum=1, maximum=self.max_limit, default=self.default_limit)
        offset["schema"].update(minimum=0, maximum=MAX_OFFSET, default=0)
        return [limit, offset]


BAD_PAGE = OpenApiResponse(PageErrorSerializer, description="limit or offset is out of range.")


def _snapshot_or_404(slug: str) -> Snapshot:
    snapshot = published_snapshot(slug)
    if snapshot is None:
        raise NotFound(f"No published report for series '{slug}'.")
    return snapshot


@extend_schema(responses={200: SeriesSerializer(many=True), 400: BAD_PAGE})
class SeriesList(PublicReadOnly, generics.ListAPIView):
    """Series with a published report."""

    serializer_class = SeriesSerializer
    pagination_class = Pagination

    def get_queryset(self) -> Any:
        return published_series()


# The URL converter's pattern, so generated clients (and fuzzers) know what a slug is.
SLUG = OpenApiParameter(
    "slug",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=r"^[-a-zA-Z0-9_]+$",
    description="The series' slug, e.g. ml-frameworks.",
)
NOT_PUBLISHED = OpenApiResponse(
    ReportErrorSerializer, description="No published report for this series."
)


@extend_schema(parameters=[SLUG], responses={200: SeriesDetailSerializer, 404: NOT_PUBLISHED})
class SeriesDetail(PublicReadOnly, generics.GenericAPIView):
    """A series and the summary of its latest published snapshot."""

    serializer_class = SeriesDetailSerializer

    def get(self, request: Request, slug: str) -> Response:
        snapshot = _snapshot_or_404(slug)
        series = snapshot.series
        series.last_published_at = snapshot.published_at  # type: ignore[attr-defined]
        series.snapshot = snapshot  # type: ignore[attr-defined]
        return Response(self.get_serializer(series).data)


def _known(name: str, value: str, known: list[str]) -> None:
    if value not in known:
        listed = ", ".join(known) or "none"
        raise ValidationError({name: [f"Unknown {name} '{value}'. Known values: {listed}."]})


def _cell_questions(snapshot: Snapshot) -> list[str]:
    return list(snapshot_cells(snapshot).order_by().values_list("question", flat=True).distinct())


@extend_schema(
    parameters=[
        SLUG,
        OpenApiParameter("wave", OpenApiTypes.STR, description="Wave label, e.g. 2026."),
        OpenApiParameter("question", OpenApiTypes.STR, description="Question key."),
        OpenApiParameter("measure", OpenApiTypes.STR, enum=Cell.Measure.values),
        OpenApiParameter(
            "dimension",
            OpenApiTypes.STR,
            description="A dimension question key, or 'none' for overall rows only.",
        ),
    ],
    responses={
        200: CellSerializer(many=True),
        400: OpenApiResponse(
            CellFilterErrorSerializer, description="A query parameter has a bad value."
        ),
        404: NOT_PUBLISHED,
    },
)
class CellList(PublicReadOnly, generics.ListAPIView):
    """Cells of the latest published snapshot; hidden values are null, flagged `hidden`.

    Each cell has the columns of cells.csv, the series' slug and `synthetic` included."""

    serializer_class = CellSerializer
    pagination_class = Pagination
    snapshot: Snapshot

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        snapshot = getattr(self, "snapshot", None)
        if snapshot is not None:
            series = (snapshot.summary or {}).get("series") or {}
            context["series"] = snapshot.series.slug
            context["synthetic"] = bool(series.get("is_synthetic", snapshot.series.is_synthetic))
        return context

    def get_queryset(self) -> Any:
        snapshot = _snapshot_or_404(self.kwargs["slug"])
        self.snapshot = snapshot
        unknown = sorted(set(self.request.query_params) - CELL_QUERY_PARAMETERS)
        if unknown:
            known = ", ".join(sorted(CELL_QUERY_PARAMETERS))
            raise ValidationError(
                {name: [f"Unknown parameter '{name}'. Known: {known}."] for name in unknown}
            )
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


CELL_QUERY_PARAMETERS = frozenset({"wave", "question", "measure", "dimension", "limit", "offset"})


class SchemaView(SpectacularAPIView):
    pass


class DocsView(SpectacularSwaggerSplitView):
    # The packaged template has an inline <style>, which the strict CSP refuses.
    template_name = "results/swagger_ui.html"


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@authentication_classes([])
@permission_classes([AllowAny])
def api_not_found(request: Request, path: str = "") -> Response:
    """Any other address under /api/: a JSON 404 rather than the site's HTML page."""
    raise NotFound("No API endpoint at this address. The schema at /api/schema/ lists them.")
