"""Shapes of the signals API: sources with their breaks, and their figures."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class BreakSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(allow_null=True, help_text="Null for a break at one point.")
    label = serializers.CharField()
    note = serializers.CharField()


class SourceSerializer(serializers.Serializer):
    key = serializers.SlugField()
    name = serializers.CharField()
    url = serializers.URLField()
    licence = serializers.CharField()
    attribution = serializers.CharField()
    unit = serializers.CharField()
    measures = serializers.CharField()
    biases = serializers.CharField()
    missing_rule = serializers.CharField(help_text="What a missing figure means.")
    scope_kind = serializers.CharField(help_text="What a scope is: economy, venue, or empty.")
    imported_at = serializers.DateTimeField()
    breaks = BreakSerializer(many=True)
    values = serializers.SerializerMethodField()
    csv = serializers.SerializerMethodField()

    def _url(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_values(self, source: Any) -> str:
        return self._url(f"/api/v1/signals/{source.key}/values/")

    def get_csv(self, source: Any) -> str:
        return self._url(f"/signals/{source.key}.csv")


class ValueSerializer(serializers.Serializer):
    period = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    scope = serializers.CharField(help_text="Economy or venue; empty for the whole source.")
    label = serializers.CharField(help_text="As the source spells it.")
    entity = serializers.CharField(
        source="entity_key", help_text="Framework taxonomy key; empty if the label names none."
    )
    value = serializers.IntegerField(allow_null=True, help_text="Null when missing, never 0.")
    missing = serializers.CharField(help_text="Why the value is missing; empty if published.")


class ValueFilterSerializer(serializers.Serializer):
    entity = serializers.SlugField(required=False, max_length=80)
    scope = serializers.CharField(required=False, max_length=40)
    label = serializers.CharField(required=False, max_length=80)


class SignalErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ValueFilterErrorSerializer(serializers.Serializer):
    entity = serializers.ListField(child=serializers.CharField(), required=False)
    scope = serializers.ListField(child=serializers.CharField(), required=False)
    label = serializers.ListField(child=serializers.CharField(), required=False)
