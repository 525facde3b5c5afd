"""The editors' side of the crowd model: gold answers (known-answer pages), and what the model
believes of reviewers (read only). Every write goes through ``consensus.actions``."""

from __future__ import annotations

from django.contrib import admin, messages

from consensus import actions
from consensus.models import EstimationRun, GoldAnswer, Reliability


@admin.register(GoldAnswer)
class GoldAnswerAdmin(admin.ModelAdmin):
    list_display = ["page", "tag_list", "created_by", "created"]
    raw_id_fields = ["page"]
    filter_horizontal = ["tags"]
    fields = ["page", "tags", "note", "created_by", "created"]
    readonly_fields = ["created_by", "created"]
    search_fields = ["page__document__title", "note"]

    @admin.display(description="correct tags")
    def tag_list(self, obj: GoldAnswer) -> str:
        return ", ".join(t.name for t in obj.tags.all()) or "nothing of note"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("page__document", "created_by")
            .prefetch_related("tags")
        )

    def save_model(self, request, obj, form, change):
        # The action marks the page (its reviews stop counting, it leaves every assignment).
        saved = actions.set_gold_answer(
            page_id=form.cleaned_data["page"].pk,
            tag_ids=[t.pk for t in form.cleaned_data["tags"]],
            by=request.user,
            note=form.cleaned_data.get("note", ""),
        )
        obj.pk, obj.id = saved.pk, saved.pk

    def save_related(self, request, form, formsets, change):
        pass  # the tags were set by the action

    def delete_model(self, request, obj):
        actions.remove_gold_answer(page_id=obj.page_id)

    def delete_queryset(self, request, queryset):
        for page_id in queryset.values_list("page_id", flat=True):
            actions.remove_gold_answer(page_id=page_id)
        messages.info(request, "Those pages are ordinary pages again: their reviews count.")


@admin.register(Reliability)
class ReliabilityAdmin(admin.ModelAdmin):
    list_display = ["user", "tag", "accuracy", "weight", "gold_correct", "gold_total", "votes", "updated"]
    list_filter = ["tag"]
    search_fields = ["user__username"]
    ordering = ["weight"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EstimationRun)
class EstimationRunAdmin(ReliabilityAdmin):
    list_display = ["started", "seconds", "reviews", "reviewers", "tags"]
    list_filter = []
    search_fields = []
    ordering = ["-started"]
