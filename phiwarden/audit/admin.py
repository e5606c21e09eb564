from __future__ import annotations

from django.contrib import admin

from phiwarden.audit.models import AuditEvent
from phiwarden.core.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit trail has no edit or delete path, here or anywhere."""

    list_display = ["occurred_at", "organization", "actor_label", "event_code", "outcome"]
    list_filter = ["outcome", "event_code"]
