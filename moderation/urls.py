from django.urls import path

from moderation import staff_views, takedown_views

urlpatterns = [
    path("staff/suspicious/", staff_views.suspicious, name="staff-suspicious"),
    path("staff/suspicious/quarantine/", staff_views.quarantine, name="staff-quarantine"),
    path("staff/suspicious/release/", staff_views.release, name="staff-release"),
    path("staff/suspicious/exempt/", staff_views.exempt, name="staff-exempt"),
    path("staff/suspicious/exempt/end/", staff_views.end_exemption, name="staff-exempt-end"),
    path("staff/pages/<id:page_id>/withdraw/", takedown_views.page_withdraw, name="takedown-page-withdraw"),
    path(
        "staff/pages/<id:page_id>/reinstate/", takedown_views.page_reinstate, name="takedown-page-reinstate"
    ),
    # nginx's auth_request for /media/ (deploy/nginx.conf.template)
    path("_media-access/", takedown_views.media_gate, name="takedown-media-gate"),
]
