from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from results.api import index, views

router = SimpleRouter()
router.register("pages", views.PageViewSet, basename="api-page")
router.register("documents", views.DocumentViewSet, basename="api-document")
router.register("members", views.MemberViewSet, basename="api-member")
router.register("parties", views.PartyViewSet, basename="api-party")
router.register("tags", views.TagViewSet, basename="api-tag")
router.register("assignments", views.AssignmentViewSet, basename="api-assignment")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("", index.root, name="api-root"),
    path("docs/", index.docs, name="api-docs"),
    path("listings/<slug:tag>/", views.ListingView.as_view(), name="api-listing"),
    *router.urls,
]
