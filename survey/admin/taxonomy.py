"""The taxonomy in the admin: entities with aliases; every save is a new version."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from ..models import Alias, Entity, TaxonomyChange, TaxonomyVersion
from ..taxonomy import normalize, taxonomy_apply, taxonomy_version_create


class AliasInline(admin.TabularInline):
    model = Alias
    extra = 1
    fields = ["text", "normalized", "approved", "created_by", "created_at"]
    readonly_fields = ["normalized", "created_by", "created_at"]


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "kind", "parent", "alias_count"]
    list_filter = ["kind"]
    search_fields = ["name", "key", "aliases__text"]
    autocomplete_fields = ["parent"]
    inlines = [AliasInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Entity]:
        return super().get_queryset(request).annotate(alias_total=Count("aliases"))

    @admin.display(description="Aliases", ordering="alias_total")
    def alias_count(self, obj: Entity) -> int:
        return getattr(obj, "alias_total", 0)

    def save_model(self, request: HttpRequest, obj: Entity, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        verb = f"Changed {', '.join(form.changed_data)} of" if change else "Added"
        if not change or form.changed_data:
            self._changes(request).append(f"{verb} {obj.kind} {obj.name!r} ({obj.key})")

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        aliases = formset.save(commit=False)
        for alias in aliases:
            alias.normalized = normalize(alias.text)
            if alias.created_by_id is None:
                alias.created_by = request.user
            alias.save()
            self._changes(request).append(
                f"Alias {alias.text!r} -> {form.instance.kind} {form.instance.key}"
                + ("" if alias.approved else " (not approved)")
            )
        for alias in formset.deleted_objects:
            self._changes(request).append(
                f"Removed alias {alias.text!r} of {form.instance.kind} {form.instance.key}"
            )
            alias.delete()
        formset.save_m2m()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        changes = self._changes(request)
        if changes:
            version = taxonomy_version_create(
                note="; ".join(changes)[:300], changes=changes, user=request.user
            )
            messages.info(
                request,
                f"Taxonomy v{version.number} saved. Apply it (Taxonomy versions) to re-map "
                "every wave before the next rebuild.",
            )
            changes.clear()

    def delete_model(self, request: HttpRequest, obj: Entity) -> None:
        description = f"Removed {obj.kind} {obj.name!r} ({obj.key})"
        super().delete_model(request, obj)
        taxonomy_version_create(note=description, changes=[description], user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Entity]) -> None:
        changes = [f"Removed {e.kind} {e.name!r} ({e.key})" for e in queryset]
        super().delete_queryset(request, queryset)
        if changes:
            taxonomy_version_create(
                note="; ".join(changes)[:300], changes=changes, user=request.user
            )

    @staticmethod
    def _changes(request: HttpRequest) -> list[str]:
        if not hasattr(request, "_taxonomy_changes"):
            request._taxonomy_changes = []  # type: ignore[attr-defined]
        return request._taxonomy_changes  # type: ignore[attr-defined]


class TaxonomyChangeInline(admin.TabularInline):
    model = TaxonomyChange
    extra = 0
    fields = ["description", "user", "at"]
    readonly_fields = ["description", "user", "at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TaxonomyVersion)
class TaxonomyVersionAdmin(admin.ModelAdmin):
    list_display = ["number", "note", "created_by", "created_at", "applied_at"]
    readonly_fields = ["number", "note", "created_by", "created_at", "applied_at"]
    inlines = [TaxonomyChangeInline]
    actions = ["apply_versions"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Apply to every wave (re-map answers to canonical keys)")
    def apply_versions(self, request: HttpRequest, queryset: QuerySet[TaxonomyVersion]) -> None:
        newest = queryset.order_by("-number").first()
        report = taxonomy_apply(version=newest, user=request.user)
        self.message_user(
            request,
            f"Taxonomy v{report.version} applied: {report.choices_merged} choices merged, "
            f"{report.answers_moved} answers moved, {report.other_texts_mapped} other texts "
            "mapped. The next snapshot records this version.",
        )
