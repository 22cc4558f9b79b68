"""Channel names anonymous clients chose, held until an admin approves them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from ..channels import channels_approve
from ..models import Channel, Response


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "approved", "held_responses", "first_seen_at"]
    list_filter = ["approved"]
    actions = ["approve"]

    @admin.display(description="responses held under the default channel")
    def held_responses(self, obj: Channel) -> int:
        return Response.objects.filter(channel_requested=obj.name).count()

    @admin.action(description="Approve: show these channel names in reports")
    def approve(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        moved = channels_approve(list(queryset.values_list("name", flat=True)))
        messages.success(request, f"Approved; {moved} response(s) moved to their channel.")
