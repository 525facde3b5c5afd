from django.contrib import admin

from search.models import PageText


class HasReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "has_reason"

    def lookups(self, request, model_admin):
        return [("yes", "With a reason"), ("no", "Without")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(reason="")
        if self.value() == "no":
            return queryset.filter(reason="")
        return queryset


@admin.register(PageText)
class PageTextAdmin(admin.ModelAdmin):
    """OCR and text-layer state per page, for staff: read-only (writes go through
    ``search.actions``; ``manage.py ocr_pages`` re-runs OCR)."""

    list_display = ["page", "status", "source", "reason", "engine", "version", "attempts", "updated"]
    list_filter = ["status", "source", HasReasonFilter, "engine"]
    list_select_related = ["page__document"]
    search_fields = ["=page__id", "reason"]
    readonly_fields = [
        "page",
        "text",
        "source",
        "status",
        "reason",
        "engine",
        "version",
        "priority",
        "attempts",
        "updated",
    ]
    exclude = ["boxes", "search_vector"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
