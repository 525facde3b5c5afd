"""The site itself: paths, the mode (DEBUG, PRODUCTION, TESTING), the apps, the middleware, the
URLconf, templates, language and time, static and media files, the API's framework."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_str
from lib.services import data_dir

BASE_DIR = Path(__file__).resolve().parents[2]
DATA_DIR = data_dir(BASE_DIR)
TESTING = "pytest" in sys.modules or env_bool("CROWD_TESTING")


DEBUG = env_bool("DEBUG", False)
# PRODUCTION=1 (docker-compose.yml sets it) demands a real SECRET_KEY and turns on HTTPS-only
# defaults (each still its own env var).
PRODUCTION = env_bool("PRODUCTION", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("PRODUCTION=1 with DEBUG=1: DEBUG shows settings and tracebacks to anyone")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "lib.apps.LibConfig",
    "denorm.apps.DenormConfig",
    "catalogue",  # documents, pages, tags, members, parties; the import (docs/architecture.md)
    "reviews",
    "frontdesk",  # the site's pages that combine several apps (docs/architecture.md)
    "assignments",
    "results",
    "contributors",
    "pagecache",
    "moderation",
    "search",
    "consensus",
]

MIDDLEWARE = [
    # First: /healthz and /readyz answer before the HTTPS redirect, host check, page cache,
    # session and rate limits (lib/health.py).
    "lib.health.HealthCheckMiddleware",
    # Counts every request for /metrics (lib/metrics.py; who may read it: operations.py), then one
    # log line per request with its id (lib/logs.py).
    "lib.metrics.RequestMetricsMiddleware",
    "lib.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outside WhiteNoise and the media view: CSP and nosniff on every response, files included.
    "lib.middleware.SecurityHeadersMiddleware",
    # Access-Control-Allow-Origin: * on the read-only API's GETs, nothing else (lib/cors.py).
    "lib.cors.CorsMiddleware",
    # Before anything reads a body (CsrfViewMiddleware parses POSTs): per-view body limits,
    # then NUL bytes in the path, query, cookies and form fields (Postgres refuses them).
    "lib.middleware.RequestBodyLimitMiddleware",
    "lib.middleware.RejectNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the session: a cached anonymous page is served without session, user or database.
    "pagecache.middleware.PageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Inside the page cache (a cached page never mints one): sets the picker's visitor cookie.
    "lib.visitor.VisitorMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Inside the session middleware: marks a session in use for saving once a day (sliding expiry).
    "lib.middleware.SessionRenewalMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Sets the signed device cookie after a password login (lib.login_throttle's known devices).
    "lib.device_cookie.DeviceCookieMiddleware",
    # Inside auth and messages: records a review held at the new-account limit once its visitor
    # is signed in (reviews.held_reviews).
    "reviews.held_reviews.HeldReviewMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or DATA_DIR / "media")
# Source PDFs: private, outside MEDIA_ROOT (never served; staff download them), see catalogue.storage.
SOURCES_ROOT = Path(env_str("SOURCES_ROOT") or DATA_DIR / "sources")
if SOURCES_ROOT.resolve().is_relative_to(MEDIA_ROOT.resolve()):
    raise ImproperlyConfigured("SOURCES_ROOT must not be inside MEDIA_ROOT: source files are private")
# Development and tests serve static files straight from the finders (no collectstatic needed).
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# Serve MEDIA_ROOT from Django (make run, tests); production puts a web server or CDN in front.
SERVE_MEDIA = env_bool("SERVE_MEDIA", not env_str("DATABASE_URL"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG and not TESTING
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["results.api.throttling.RedisAnonRateThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Crowd review API",
    "VERSION": "1.0.0",
    # `check --deploy` must not need the database (the schema generation reads it); the schema
    # is validated by tests/results/test_api_schema.py instead.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
    # Every status an operation can answer is documented (400, 404, 429 besides the 200).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "results.api.schema.document_error_responses",
        "results.api.schema.describe_operations",
    ],
}
