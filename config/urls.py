from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from lib import web
from moderation import takedown_views

# A database that cannot be reached (Postgres restarting) is a 503 with Retry-After, not a 500.
handler500 = "lib.web.server_error"
# Under /api/ a 404 is JSON like the API's other answers.
handler404 = "lib.web.page_not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("denorm.urls")),
    path("", include("assignments.urls")),
    path("", include("reviews.urls")),
    path("", include("results.urls")),
    path("", include("contributors.urls")),
    path("", include("moderation.urls")),
    path("", include("lib.urls")),  # /metrics (lib/metrics.py)
    path("favicon.ico", web.favicon, name="favicon"),
    path("", include("search.urls")),
]


if settings.DEBUG or getattr(settings, "SERVE_MEDIA", False):
    # `make run` and the compose file: Django serves MEDIA_ROOT (read per request: tests move it);
    # at scale a web server does. Only page images live there: source PDFs are in SOURCES_ROOT,
    # outside it, and never served (catalogue.storage). A withdrawn page's image and thumbnail go to
    # staff only (moderation.takedown_views.page_media).
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", takedown_views.page_media)]
