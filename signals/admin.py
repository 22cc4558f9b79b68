from django.contrib import admin

from .models import Break, Source, Value


class BreakInline(admin.TabularInline):
    model = Break
    extra = 0


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "unit", "licence", "imported_at"]
    readonly_fields = ["format", "file_name", "file_sha256", "imported_at"]
    inlines = [BreakInline]


@admin.register(Value)
class ValueAdmin(admin.ModelAdmin):
    """Figures are replaced by `import_signal`; here they are read, not edited."""

    list_display = ["source", "period", "scope", "label", "entity_key", "value", "missing"]
    list_filter = ["source", "entity_key"]
    search_fields = ["scope", "label", "period"]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001 (admin signature)
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
