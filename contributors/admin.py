from django.contrib import admin

from contributors.models import TriageDecision
from lib.admin import RecordAdmin


@admin.register(TriageDecision)
class TriageDecisionAdmin(RecordAdmin):
    """Read-only: decisions are made in the triage inbox (``/staff/triage/``) and are a record."""

    list_display = ["page", "decision", "editor", "created", "review_count"]
    list_filter = ["decision", "created"]
    list_select_related = ["page__document", "editor"]
    raw_id_fields = ["page", "discovery"]
