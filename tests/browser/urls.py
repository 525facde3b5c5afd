"""The site's URLs, plus MEDIA_ROOT served as it is *now*: config.urls fixes the directory at
import time, and browser tests point MEDIA_ROOT at a temporary directory of real images."""

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from config.urls import urlpatterns as site_urlpatterns


def media(request, path):
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [re_path(r"^media/(?P<path>.*)$", media), *site_urlpatterns]
