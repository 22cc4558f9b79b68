"""The read-only signals API: outside sources, their breaks and their figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from .models import Source, Value
from .selectors import signal_source, signal_sources
from .serializers import (
    SignalErrorSerializer,
    SourceSerializer,
    ValueFilterErrorSerializer,
    ValueFilterSerializer,
    ValueSerializer,
)


class PublicReadOnly:
    """Published aggregates from elsewhere: no login, no session."""

    authentication_classes: Sequence[type[BaseAuthentication]] = []
    permission_classes: Sequence[Any] = [AllowAny]


KEY = OpenApiParameter(
    "key",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=r"^[-a-zA-Z0-9_]+$",
    description="The source's key, e.g. pypi-downloads.",
)
NO_SOURCE = OpenApiResponse(SignalErrorSerializer, description="No source with this key.")


def _source_or_404(key: str) -> Source:
    source = signal_source(key)
    if source is None:
        raise NotFound(f"No signal source '{key}'.")
    return source


@extend_schema(responses={200: SourceSerializer(many=True)})
class SourceList(PublicReadOnly, generics.ListAPIView):
    """Outside signals: published aggregates from elsewhere, each with its unit and biases."""

    serializer_class = SourceSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        return signal_sources()


@extend_schema(parameters=[KEY], responses={200: SourceSerializer, 404: NO_SOURCE})
class SourceDetail(PublicReadOnly, generics.GenericAPIView):
    """One source: what it measures, its licence, attribution and breaks."""

    serializer_class = SourceSerializer

    def get(self, request: Request, key: str) -> Response:
        return Response(self.get_serializer(_source_or_404(key)).data)


@extend_schema(
    parameters=[
        KEY,
        OpenApiParameter("entity", OpenApiTypes.STR, description="Framework key, e.g. pytorch."),
        OpenApiParameter("scope", OpenApiTypes.STR, description="Economy or venue, e.g. US."),
        OpenApiParameter("label", OpenApiTypes.STR, description="Label, e.g. tensorflow-cpu."),
    ],
    responses={
        200: ValueSerializer(many=True),
        400: OpenApiResponse(
            ValueFilterErrorSerializer, description="A query parameter has a bad value."
        ),
        404: NO_SOURCE,
    },
)
class ValueList(PublicReadOnly, generics.ListAPIView):
    """A source's figures, oldest first; a missing figure is null with its reason."""

    serializer_class = ValueSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        source = _source_or_404(self.kwargs["key"])
        params = ValueFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        values = Value.objects.filter(source=source)
        for name, field in (("entity", "entity_key"), ("scope", "scope"), ("label", "label")):
            wanted = params.validated_data.get(name)
            if wanted is None:
                continue
            known = sorted(set(values.order_by().values_list(field, flat=True)) - {""})
            if wanted not in known:
                raise ValidationError(
                    {name: [f"Unknown {name} '{wanted}'. Known values: {', '.join(known)}."]}
                )
            values = values.filter(**{field: wanted})
        return values.order_by("period_end", "period", "scope", "label")
