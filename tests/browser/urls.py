"""The site's URLs, plus MEDIA_ROOT served as it is *now*: config.urls fixes the directory at
import time, and browser tests point MEDIA_ROOT at a temporary directory of real images (through
the same gate as the site's, which refuses a withdrawn page's images to the public)."""

from django.urls import re_path

from config.urls import urlpatterns as site_urlpatterns
from moderation.takedown_views import page_media

urlpatterns = [re_path(r"^media/(?P<path>.*)$", page_media), *site_urlpatterns]
