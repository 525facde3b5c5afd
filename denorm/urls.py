from django.urls import path

from denorm import views

urlpatterns = [
    path("staff/denormalisations/", views.denormalisations, name="staff-denormalisations"),
]
