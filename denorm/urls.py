from django.urls import path

from denorm import views

urlpatterns = [
    path("staff/denormalisations/", views.denormalisations, name="staff-denormalisations"),
    path(
        "staff/denormalisations/<str:name>/check/",
        views.operate,
        {"operation": "check"},
        name="staff-denormalisation-check",
    ),
    path(
        "staff/denormalisations/<str:name>/rebuild/",
        views.operate,
        {"operation": "rebuild"},
        name="staff-denormalisation-rebuild",
    ),
]
