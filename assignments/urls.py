from django.urls import path

from frontdesk import assignment_views as views
from frontdesk import staff_cache_views as staff_views
from frontdesk import views_next

urlpatterns = [
    path("assignments/", views.assignment_list, name="assignments"),
    path("assignments/<slug:slug>/", views.assignment_detail, name="assignment"),
    path("assignments/<slug:slug>/start/", views.assignment_start, name="assignment-start"),
    path("assignments/<slug:slug>/done/", views.assignment_done, name="assignment-done"),
    path("assignments/<slug:slug>/busy/", views.assignment_busy, name="assignment-busy"),
    path("review/next/", views_next.review_next, name="review-next"),
    path("staff/cache/", staff_views.cache_status, name="staff-cache"),
]
