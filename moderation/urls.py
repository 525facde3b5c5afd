from django.urls import path

from moderation import staff_views

urlpatterns = [
    path("staff/suspicious/", staff_views.suspicious, name="staff-suspicious"),
    path("staff/suspicious/quarantine/", staff_views.quarantine, name="staff-quarantine"),
    path("staff/suspicious/release/", staff_views.release, name="staff-release"),
]
