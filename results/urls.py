from django.urls import include, path, re_path

from frontdesk import feeds
from frontdesk import results_views as views
from results.selectors import Order, ScopeKind

# (route prefix, URL prefix, captured scope value) for each listing; ALL is /tags/<tag>/.
_SCOPES = [
    (ScopeKind.ALL, "", ""),
    (ScopeKind.PARTY, "party-", "parties/<slug:value>/"),
    (ScopeKind.MEMBER, "member-", "members/<slug:value>/"),
    (ScopeKind.DOCUMENT, "document-", "documents/<id:value>/"),
    (ScopeKind.ASSIGNMENT, "assignment-", "assignments/<slug:value>/"),
    (ScopeKind.USER, "user-", "users/<str:value>/"),
]

_listings = []
for kind, name, prefix in _SCOPES:
    _listings += [
        path(
            f"{prefix}tags/<slug:tag>/",
            views.listing,
            {"order": Order.MOST_TAGGED, "kind": kind},
            name=f"{name}tag",
        ),
        path(
            f"in-order/{prefix}tags/<slug:tag>/",
            views.listing,
            {"order": Order.IN_ORDER, "kind": kind},
            name=f"in-order-{name}tag",
        ),
        path(
            f"in-order/{prefix}tags/<slug:tag>/feed/",
            feeds.InOrderFeed(),
            {"kind": kind},
            name=f"in-order-{name}tag-feed",
        ),
    ]

urlpatterns = [
    path("tags/", views.tag_index, name="tags"),
    path("parties/", views.party_index, name="parties"),
    path("parties/<slug:slug>/", views.party_detail, name="party"),
    path("members/", views.member_index, name="members"),
    path("members/<slug:slug>/", views.member_detail, name="member"),
    path("documents/<id:document_id>/", views.document_detail, name="document"),
    path("discoveries/", views.discoveries, name="discoveries"),
    path("discoveries/feed/", feeds.DiscoveryFeed(), name="discoveries-feed"),
    re_path(r"^exports/all\.(?P<fmt>csv|jsonl)$", views.export, name="export-all"),
    re_path(r"^exports/tags/(?P<tag>[-a-zA-Z0-9_]+)\.(?P<fmt>csv|jsonl)$", views.export, name="export-tag"),
    path("staff/activity/", views.staff_activity, name="staff-activity"),
    path("api/", include("results.api.urls")),
    *_listings,
]
