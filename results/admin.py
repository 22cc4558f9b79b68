"""Admin for snapshots (preview, compare, publish), rebuild jobs and weighting targets."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .models import Cell, RebuildJob, RefreshStatus, Snapshot, WeightingTarget
from .services import SnapshotNotPublishableError, rebuild_request, snapshot_publish
from .tasks import rebuild_queue


def warn_if_refresh_stale(request: HttpRequest) -> None:
    """A refresh that has not succeeded for two intervals is said on the jobs' pages."""
    for status in RefreshStatus.objects.all():
        if status.is_stale():
            since = status.last_success_at.isoformat() if status.last_success_at else "never"
            messages.warning(
                request,
                f"The {status.name} refresh has not succeeded for over two intervals "
                f"(last success: {since}; last error: {status.last_error or 'none'}). "
                "New answers are not reaching the reports.",
            )


@admin.register(RefreshStatus)
class RefreshStatusAdmin(admin.ModelAdmin):
    list_display = ["name", "stale", "last_success_at", "last_failure_at", "failures_in_a_row",
                    "last_error", "interval_seconds"]  # fmt: skip

    @admin.display(boolean=True, description="stale (no success for two intervals)")
    def stale(self, obj: RefreshStatus) -> bool:
        return obj.is_stale()

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        warn_if_refresh_stale(request)
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


CELL_KEY = ("measure", "wave", "compare_wave", "question", "choice", "option", "dimension",
            "segment")  # fmt: skip
DIFF_LIMIT = 100


def snapshot_diff(new: Snapshot, old: Snapshot | None) -> dict[str, Any]:
    """Cells added, removed, and with a changed share (or flag) against another snapshot."""

    def cells(snapshot: Snapshot) -> dict[tuple, tuple]:
        rows = snapshot.cells.values_list(*CELL_KEY, "share", "flag")
        return {row[: len(CELL_KEY)]: row[len(CELL_KEY) :] for row in rows}

    mine = cells(new)
    theirs = cells(old) if old is not None else {}
    added = sorted(set(mine) - set(theirs))
    removed = sorted(set(theirs) - set(mine))
    changed = []
    for key in sorted(set(mine) & set(theirs)):
        (share, flag), (before, before_flag) = mine[key], theirs[key]
        moved = (share is None) != (before is None) or (
            share is not None and before is not None and abs(share - before) > 1e-9
        )
        if moved or flag != before_flag:
            change = None if share is None or before is None else share - before
            changed.append(
                {
                    "key": " / ".join(p for p in key if p),
                    "before": before,
                    "after": share,
                    "change": change,
                    "flag": flag,
                    "before_flag": before_flag,
                }  # fmt: skip
            )
    changed.sort(key=lambda c: -abs(c["change"] or 0))
    return {
        "against": old,
        "added": len(added),
        "removed": len(removed),
        "changed": len(changed),
        "added_sample": [" / ".join(p for p in key if p) for key in added[:DIFF_LIMIT]],
        "removed_sample": [" / ".join(p for p in key if p) for key in removed[:DIFF_LIMIT]],
        "changed_sample": changed[:DIFF_LIMIT],
    }


# Shown readably instead of as raw JSON: summary in the preview, the others as lists.
JSON_FIELDS = ("parameters", "summary", "audit_report")


def readable(value: Any) -> SafeString:
    """A JSON value as nested lists an admin can read (keys as labels), escaped."""
    if isinstance(value, dict):
        if not value:
            return mark_safe("<em>none</em>")  # noqa: S308 (a constant)
        items = format_html_join(
            "", "<li><strong>{}</strong>: {}</li>", ((k, readable(v)) for k, v in value.items())
        )
        return format_html('<ul class="readable">{}</ul>', items)
    if isinstance(value, list):
        if not value:
            return mark_safe("<em>none</em>")  # noqa: S308 (a constant)
        if all(not isinstance(v, dict | list) for v in value):
            return format_html("{}", ", ".join(str(v) for v in value))
        items = format_html_join("", "<li>{}</li>", ((readable(v),) for v in value))
        return format_html('<ul class="readable">{}</ul>', items)
    return format_html("{}", "-" if value is None else value)


def _current_published() -> Subquery:
    latest = Snapshot.objects.filter(series=OuterRef("series")).published()
    return Subquery(latest.order_by("-published_at", "-pk").values("pk")[:1])


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["__str__", "series", "status", "publication", "created_at", "published_at",
                    "audit_passed", "cell_count", "response_count"]  # fmt: skip
    list_filter = ["series", "status", "audit_passed"]
    date_hierarchy = "created_at"
    exclude = JSON_FIELDS
    readonly_fields = [
        *(f.name for f in Snapshot._meta.fields if f.name not in JSON_FIELDS),
        "parameters_shown",
        "audit_shown",
    ]
    change_form_template = "admin/results/snapshot/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Snapshot]:
        return (
            super()
            .get_queryset(request)
            .select_related("series")
            .annotate(n=Count("cells"), current_pk=_current_published())
        )

    @admin.display(description="publication")
    def publication(self, obj: Snapshot) -> str:
        """ "published" only for the one served; an older published one is "superseded"."""
        if obj.published_at is None:
            return "-"
        return "published" if obj.pk == obj.current_pk else "superseded"  # type: ignore[attr-defined]

    @admin.display(description="parameters")
    def parameters_shown(self, obj: Snapshot) -> SafeString:
        return readable(obj.parameters)

    @admin.display(description="audit report")
    def audit_shown(self, obj: Snapshot) -> SafeString:
        return readable(obj.audit_report)

    @admin.display(description="cells", ordering="n")
    def cell_count(self, obj: Snapshot) -> int:
        return obj.n  # type: ignore[attr-defined]  # annotated by get_queryset

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # snapshots come only from a build

    def has_change_permission(self, request: HttpRequest, obj: Snapshot | None = None) -> bool:
        return False  # immutable: publishing has its own button

    def get_urls(self) -> list:
        publish = self.admin_site.admin_view(self.publish_view)
        return [
            path("<int:pk>/publish/", publish, name="results_snapshot_publish"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        snapshot = get_object_or_404(Snapshot.objects.select_related("series"), pk=object_id)
        current = Snapshot.objects.latest_published(snapshot.series)
        extra = {
            **(extra_context or {}),
            "snapshot": snapshot,
            "current": current,
            "is_current": current is not None and current.pk == snapshot.pk,
            "summary": snapshot.summary,
            "diff": snapshot_diff(snapshot, current if current != snapshot else None),
            "can_publish": (
                snapshot.status == Snapshot.Status.READY
                and snapshot.published_at is None
                and bool(snapshot.audit_passed)
                and request.user.has_perm("results.change_snapshot")
            ),
            "flag_counts": list(
                snapshot.cells.values("flag", "reason")
                .annotate(n=Count("id"))
                .order_by("flag", "reason")
            ),
        }
        return super().change_view(request, object_id, form_url, extra)

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        target = reverse("admin:results_snapshot_change", args=[pk])
        if request.method != "POST" or not request.user.has_perm("results.change_snapshot"):
            messages.error(request, "Publishing needs a POST from someone allowed to publish.")
            return HttpResponseRedirect(target)
        try:
            snapshot = snapshot_publish(snapshot_id=pk, user=request.user)
        except SnapshotNotPublishableError as error:
            messages.error(request, f"Not published: {error}")
        else:
            messages.success(request, f"{snapshot} is published.")
        return HttpResponseRedirect(target)


@admin.register(RebuildJob)
class RebuildJobAdmin(admin.ModelAdmin):
    """Adding a job is the admin's "Rebuild now": it queues a rebuild of the series."""

    list_display = ["__str__", "series", "status", "progress_percent", "message", "attempts",
                    "created_at", "heartbeat_at", "snapshot"]  # fmt: skip
    list_filter = ["status", "series"]
    fields = ["series", "publish"]

    @admin.display(description="progress")
    def progress_percent(self, obj: RebuildJob) -> str:
        return f"{obj.progress}%"

    def get_fields(self, request: HttpRequest, obj: RebuildJob | None = None) -> Any:
        if obj is None:
            return ["series", "publish"]
        return [f.name for f in RebuildJob._meta.fields if f.name != "id"]

    def get_readonly_fields(self, request: HttpRequest, obj: RebuildJob | None = None) -> list[str]:
        return [] if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: RebuildJob | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        warn_if_refresh_stale(request)
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: RebuildJob, form: Any, change: bool) -> None:
        job = rebuild_request(series_id=obj.series_id, publish=obj.publish, user=request.user)
        rebuild_queue([job])
        obj.pk = job.pk
        obj.status = job.status
        messages.info(request, f"Rebuild of {obj.series} queued (job {job.pk}).")


@admin.register(WeightingTarget)
class WeightingTargetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "series", "dimension", "segment", "share", "source"]
    list_editable = ["share", "source"]
    list_filter = ["series", "dimension"]


@admin.register(Cell)
class CellAdmin(admin.ModelAdmin):
    list_display = ["snapshot", "measure", "wave", "question", "choice", "option", "dimension",
                    "segment", "base_n", "count", "share", "flag", "reason"]  # fmt: skip
    list_filter = ["measure", "flag", "reason"]
    search_fields = ["question", "choice"]
    list_select_related = ["snapshot__series"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Cell | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Cell | None = None) -> bool:
        return False
