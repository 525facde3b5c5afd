from django.urls import path

from lib.metrics_views import metrics_view

urlpatterns = [
    path("metrics", metrics_view, name="metrics"),
]
