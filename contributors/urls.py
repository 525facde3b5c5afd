from django.urls import path

from contributors import views

urlpatterns = [
    path("reviewers/", views.reviewers, name="reviewers"),
    path("staff/triage/", views.triage, name="staff-triage"),
    path("staff/triage/<id:page_id>/", views.triage_decide, name="staff-triage-decide"),
    path("pages/<id:page_id>/discovery/", views.page_discovery, name="page-discovery"),
]
