"""The editors' embargo actions on the admin's Document changelist, and its status column.
``frontdesk.admin`` lists them; the writes are ``moderation.actions.embargo``'s, the rule
``assignments.visibility``'s."""

from __future__ import annotations

from django.contrib import admin, messages

from assignments import visibility
from moderation.actions import embargo

# What the editor reads beside the status column (the changelist's help) and in the messages.
EMBARGO_EXPLAINED = (
    "A new document is embargoed: only staff see it (its pages, images, tags, API rows) until it "
    "is in a published assignment (by document, member or party) or you publish it on its own "
    "with “Publish (lift embargo)”. A withdrawn document is never public."
)

_STATUS_WORDS = {"public": "Public", "embargoed": "Embargoed", "withdrawn": "Withdrawn"}


@admin.display(description="visibility", ordering="public")
def visibility_status(obj) -> str:
    """Embargoed / Public / Withdrawn, as the public sees the document (``Document.public``)."""
    return _STATUS_WORDS[visibility.document_visibility(obj)]


def _run(modeladmin, request, queryset, do, verb: str, after: str) -> None:
    done, refused = [], []
    for document in queryset.order_by("pk"):
        try:
            do(document, by=request.user)
            done.append(str(document))
        except embargo.EmbargoError as exc:
            refused.append(f"{document}: {exc.message}")
    if done:
        modeladmin.message_user(
            request, f"{verb} {len(done)}: {', '.join(done[:10])}. {after}", messages.SUCCESS
        )
    for line in refused[:20]:
        modeladmin.message_user(request, f"Nothing changed for {line}", messages.WARNING)


@admin.action(description="Publish (lift embargo)", permissions=["change"])
def publish_documents(modeladmin, request, queryset):
    _run(
        modeladmin,
        request,
        queryset,
        embargo.publish_document,
        "Published",
        "They are public from now on (unless withdrawn); the record is on /staff/activity/.",
    )


@admin.action(description="Embargo (undo publishing on its own)", permissions=["change"])
def embargo_documents(modeladmin, request, queryset):
    _run(
        modeladmin,
        request,
        queryset,
        embargo.embargo_document,
        "Embargoed",
        "They are staff only again, unless a published assignment contains them.",
    )
