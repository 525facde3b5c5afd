from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

# A database that cannot be reached (Postgres restarting) is a 503 with Retry-After, not a 500.
handler500 = "lib.web.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("denorm.urls")),
    path("", include("assignments.urls")),
    path("", include("reviews.urls")),
    path("", include("results.urls")),
]

if settings.DEBUG or getattr(settings, "SERVE_MEDIA", False):
    # Development and `make run` only: production serves MEDIA_ROOT from the web server or a CDN.
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})]
