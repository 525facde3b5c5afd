"""Crowd review settings: one file, read from the environment with safe defaults.

With no DATABASE_URL / REDIS_URL / MEMCACHED_SERVERS the embedded servers under ``.data/`` are
used, and their effective URLs are exposed here. Loading this module starts nothing: the entry
points start the servers (see lib/services.py).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_list, env_secret, env_str
from lib import services

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = services.data_dir(BASE_DIR)
TESTING = "pytest" in sys.modules or env_bool("CROWD_TESTING")


DEBUG = env_bool("DEBUG", False)
# PRODUCTION=1 (docker-compose.yml sets it) demands a real SECRET_KEY and turns on HTTPS-only
# defaults (each still its own env var).
PRODUCTION = env_bool("PRODUCTION", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("PRODUCTION=1 with DEBUG=1: DEBUG shows settings and tracebacks to anyone")

# Keys that must never sign anything in production (examples from docs and compose files).
_DEVELOPMENT_KEYS = {"change-me", "changeme", "secret", "dev", "development", "insecure"}


def _secret_key() -> str:
    key = env_secret("SECRET_KEY")
    if PRODUCTION:
        weak = (
            not key
            or len(key) < 50
            or len(set(key)) < 5
            or key.startswith("django-insecure")
            or key.lower() in _DEVELOPMENT_KEYS
        )
        if weak:
            raise ImproperlyConfigured(
                "In production SECRET_KEY (or SECRET_KEY_FILE) must be a random string of at least "
                "50 characters, not missing or a development key; e.g. python -c "
                "'import secrets; print(secrets.token_urlsafe(50))'"
            )
        return key
    if key:
        return key
    # A per-checkout random key kept under .data/: safe by default, stable across restarts.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

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

# --- Services ---------------------------------------------------------------------------------

DATABASE_URL = env_secret("DATABASE_URL")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL)
else:
    _db = {"ENGINE": "django.db.backends.postgresql", **services.postgres_settings(DATA_DIR)}
_db.setdefault("ENGINE", "django.db.backends.postgresql")
# psycopg 3's connection pool: one pool per process, connections reused across requests.
_db["CONN_MAX_AGE"] = 0
_db.setdefault("OPTIONS", {})
if env_bool("DB_POOL", True):
    _db["OPTIONS"]["pool"] = {
        "min_size": env_int("DB_POOL_MIN", 1, minimum=0),
        "max_size": env_int("DB_POOL_MAX", 10, minimum=1),
        "timeout": 10,
    }
# Parallel test runs (several developers' helpers on one machine) each name their own test DB.
_db["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "test_crowd")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_secret("REDIS_URL") or services.redis_url(DATA_DIR)
# REDIS_URL names one node of a Redis Cluster (lib/redis_client.py); the Celery broker and the
# API throttle then need a plain Redis: set CELERY_BROKER_URL and API_THROTTLE_REDIS_URL.
REDIS_CLUSTER = env_bool("REDIS_CLUSTER", False)


def _with_redis_db(url: str, db: int) -> str:
    from urllib.parse import urlsplit, urlunsplit

    if url.startswith("unix://"):
        return f"{url.split('?', 1)[0]}?db={db}"
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


_memcached = env_list("MEMCACHED_SERVERS")
if not _memcached:
    _memcached = [services.memcached_server(DATA_DIR)]
MEMCACHED_SERVERS = _memcached

CACHES = {
    "default": {
        "BACKEND": "lib.memcached.PersistentPyMemcacheCache",
        "LOCATION": MEMCACHED_SERVERS,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "crowd"),
        "OPTIONS": {
            # memcached down must mean "slower", never "broken": short timeouts, errors as misses.
            "connect_timeout": 0.2,
            "timeout": 0.2,
            "ignore_exc": True,
            "no_delay": True,
            "use_pooling": True,
            "max_pool_size": 16,
            # Several servers: one that fails twice in a row (pymemcache's HashClient: a failure,
            # then a failed retry) leaves the hash ring for dead_timeout seconds, and its keys
            # (sessions, cached pages, generations) go to the others, so a dead or hung server
            # costs each process two or three short timeouts per dead_timeout, not one per
            # request. Like the picker's pools (assignments/pool.py); docs/operations.md.
            "retry_attempts": 1,
            "retry_timeout": 0,
            "dead_timeout": 30,
        },
    }
}

if TESTING:
    # The suite flushes its Redis database and memcached namespace between tests: keep it away
    # from the data of a `make run` sharing the same embedded servers.
    REDIS_URL = _with_redis_db(REDIS_URL, env_int("TEST_REDIS_DB", 15, minimum=1))
    CACHES["default"]["KEY_PREFIX"] = "crowd-test"
    # Creating and claiming accounts is on many tests' path; the real hasher is deliberately slow.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Anonymous API reads are throttled in Redis (results.api.throttling), shared by all processes.
CACHES["throttle"] = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": env_str("API_THROTTLE_REDIS_URL") or REDIS_URL,
    "KEY_PREFIX": CACHES["default"]["KEY_PREFIX"] + "-throttle",
    "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
}


def _celery_broker(url: str) -> str:
    """kombu spells a unix-socket Redis URL redis+socket:// and reads its database from
    ?virtual_host=, not ?db= (which it silently ignores, falling back to database 0)."""
    if not url.startswith("unix://"):
        return url
    path, _, query = url.removeprefix("unix://").partition("?")
    db = dict(parse_qsl(query)).get("db")
    return f"redis+socket://{path}" + (f"?virtual_host={db}" if db else "")


CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL") or _celery_broker(REDIS_URL)
if TESTING:
    # Tasks queued by tests go to the test Redis database, never to a dev worker's queue.
    CELERY_BROKER_URL = _celery_broker(REDIS_URL)
CELERY_RESULT_BACKEND = None
# The app that lower layers send tasks through (lib.celery_app): they do not import config.
CROWD_CELERY_APP = "config.celery.app"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the task to be redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}
# The picker's memcached pools (the Redis-down fallback) are refilled every minute.
CELERY_BEAT_SCHEDULE["picker-refill-pools"] = {"task": "assignments.tasks.refill_pools", "schedule": 60.0}
# Denormalisations: rebuild Redis families whose built marker vanished and entries left stale.
CELERY_BEAT_SCHEDULE["denormalisations-ensure-built"] = {
    "task": "denorm.tasks.ensure_denormalisations",
    "schedule": 60.0,
}
# Denormalisations: compare every registered copy with Postgres and repair what drifted (a
# forgotten changed(), a hand-made SQL fix). Each run checks the entries checked longest ago
# until DENORMALISATION_CHECK_BUDGET_SECONDS is spent (the whole registry at demo scale); see
# denorm.operations.check_and_repair and docs/denormalisations.md for the cost.
DENORMALISATION_CHECK_SECONDS = env_int("DENORMALISATION_CHECK_SECONDS", 60, minimum=1)
DENORMALISATION_CHECK_BUDGET_SECONDS = env_int("DENORMALISATION_CHECK_BUDGET_SECONDS", 20, minimum=1)
CELERY_BEAT_SCHEDULE["denormalisations-check-and-repair"] = {
    "task": "denorm.tasks.check_and_repair_denormalisations",
    "schedule": float(DENORMALISATION_CHECK_SECONDS),
}
# Sessions past their expiry are deleted (Django's clearsessions), daily.
CELERY_BEAT_SCHEDULE["sessions-clear-expired"] = {
    "task": "lib.tasks.clear_expired_sessions",
    "schedule": 24 * 60 * 60.0,
}
# Imports whose task was lost (queued while the broker was down) are queued again.
CELERY_BEAT_SCHEDULE["imports-requeue-stalled"] = {
    "task": "reviews.tasks.requeue_stalled_imports",
    "schedule": 300.0,
}
# Consensus: reviewers' reliability and every confidence re-estimated from all reviews and the
# gold answers (consensus.actions.reestimate; its run time is in docs/benchmarks.md). Between
# runs each review refreshes its own page's confidence after commit.
CONSENSUS_REESTIMATE_SECONDS = env_int("CONSENSUS_REESTIMATE_SECONDS", 15 * 60, minimum=10)
CELERY_BEAT_SCHEDULE["consensus-reestimate"] = {
    "task": "consensus.tasks.reestimate",
    "schedule": float(CONSENSUS_REESTIMATE_SECONDS),
}
# ... and the pages reviewed since the last run get their confidence re-derived (and retire when
# the crowd is sure) every few seconds: the review's own request asks Postgres nothing for it.
CONSENSUS_REFRESH_SECONDS = env_int("CONSENSUS_REFRESH_SECONDS", 5, minimum=1)
CELERY_BEAT_SCHEDULE["consensus-refresh-reviewed-pages"] = {
    "task": "consensus.tasks.refresh_reviewed_pages",
    "schedule": float(CONSENSUS_REFRESH_SECONDS),
}
# Gold (known-answer) pages are mixed into a reviewer's picks at GOLD_RATE_NEW over their first
# GOLD_NEWCOMER_REVIEWS reviews, then GOLD_RATE (the Gravity Spy taper, panoptes #1895).
GOLD_RATE_NEW = env_float("GOLD_RATE_NEW", 0.2, minimum=0.0, maximum=1.0)
GOLD_RATE = env_float("GOLD_RATE", 0.05, minimum=0.0, maximum=1.0)
GOLD_NEWCOMER_REVIEWS = env_int("GOLD_NEWCOMER_REVIEWS", 20, minimum=0)
# How the picker (a lower layer) asks the consensus app for a gold page: a dotted path, "" for none.
# Off in tests by default: tests that count the picker's queries must not depend on a random
# draw; the gold tests turn it on (tests/consensus/test_gold.py).
PICKER_GOLD_HOOK = "" if TESTING else "consensus.gold.pick_gold_page"
# The profile's part from the consensus app: a reviewer's own agreement with the editors.
PROFILE_CONTEXT_HOOKS = ["consensus.selectors.profile_context"]

# --- Sessions, auth --------------------------------------------------------------------------

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# An idle limit, not a lifetime: lib.middleware.SessionRenewalMiddleware saves a session in use
# again once per SESSION_RENEW_SECONDS (one write a day per visitor, not one per request as
# SESSION_SAVE_EVERY_REQUEST would cost). The session is the only key to an unclaimed anon-<n>
# account, so the limit is weeks: a reviewer back within a month keeps their account; a
# forgotten or stolen cookie dies after a month unused (it used to live a year).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 30 * 24 * 60 * 60, minimum=3600)
SESSION_RENEW_SECONDS = min(24 * 60 * 60, SESSION_COOKIE_AGE // 4)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- HTTPS and browser protections (production defaults on; every one an env var) -------------

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
# Preloading is hard to undo: off unless the operator asks (docker-compose.yml does).
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips a client's own).
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sent on every response by lib.middleware.SecurityHeadersMiddleware. No inline script or style:
# scripts live in static/js.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)
LOGIN_URL = "/account/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Email (password reset). With EMAIL_HOST set, SMTP; without, the console (development: the
# reset link is printed by `make run`). Tests use Django's in-memory backend.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Crowd review <noreply@localhost>")
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 60 * 60 * 24, minimum=300)

AUTHENTICATION_BACKENDS = [
    # Loads the signed-in user with their Reviewer row in one query; logins name it.
    "reviews.auth.ReviewerBackend",
    # For sessions logged in before, which name this one: Django drops a session whose backend
    # is not listed, and an unclaimed anon-<n> account has no other key.
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Bodies larger than this are refused before a view sees them (a review is a few hundred bytes).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
# The admin posts one field per selected document of an assignment: allow large selections.
# Review posts are bounded separately (frontdesk.views.REVIEW_MAX_BODY_BYTES, MAX_TAGS_PER_REVIEW).
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 10_000, minimum=100)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or DATA_DIR / "media")
# Source PDFs: private, outside MEDIA_ROOT (never served; staff download them), see reviews.storage.
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

# --- Product knobs ----------------------------------------------------------------------------

# Seconds a page just handed to one reviewer is softly reserved so others get different pages.
PICKER_RESERVATION_SECONDS = env_int("PICKER_RESERVATION_SECONDS", 60, minimum=0)
# Live reservations one client address (IPv6: its /64) may hold in one assignment; beyond it a
# visitor from there is served pages with a free place without reserving them (no hoarding).
PICKER_MAX_HOLDS_PER_ADDRESS = env_int("PICKER_MAX_HOLDS_PER_ADDRESS", 20, minimum=1)
# Seconds a page handed out by /review/next/ stays its visitor's before its review screen is
# loaded, when someone else needs a page (then the place may be taken over: a hoarder who never
# loads screens holds nothing longer than this).
PICKER_SOFT_GRACE_SECONDS = env_int("PICKER_SOFT_GRACE_SECONDS", 3, minimum=1)
# The review screen reserves the reviewer's following page and lets the browser prefetch its
# image, so Enter shows it from the cache (assignments.picker.following). Off: the submit picks
# afresh, as before (bench/browser_bench.py measures both).
REVIEW_PREFETCH_NEXT = env_bool("REVIEW_PREFETCH_NEXT", True)
# The review screen's fast path (static/js/review.js, frontdesk.fast_path.wants_next_screen): with
# scripts, a submit answers with the next screen's data and the page is swapped in place (one
# request per review instead of two). Off: the form posts and follows the redirect, as without
# scripts.
REVIEW_FAST_PATH = env_bool("REVIEW_FAST_PATH", True)
# Size of the memcached pool of to-do page ids per assignment (the Redis-down fallback).
PICKER_POOL_SIZE = env_int("PICKER_POOL_SIZE", 1000, minimum=10)
# Addresses (or CIDR networks) of reverse proxies whose X-Forwarded-For / X-Real-IP name the
# visitor (reviews.ratelimit.client_address). Empty: REMOTE_ADDR is the visitor.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])

# Full-page cache of public pages for visitors without a session (pagecache/, docs/caching.md):
# counts shown on cached pages may be this many seconds stale per process; nginx's copies live
# this long.
# Off by default in tests (they count a view's queries); tests/pagecache turns it on.
PAGE_CACHE_ENABLED = env_bool("PAGE_CACHE_ENABLED", not TESTING)
PAGE_CACHE_SOFT_SECONDS = env_int("PAGE_CACHE_SOFT_SECONDS", 0 if TESTING else 5, minimum=0)
# Also store copies nginx serves from memcached by URI (deploy/nginx.conf).
PAGE_CACHE_NGINX = env_bool("PAGE_CACHE_NGINX", True)
# nginx keeps the media gate's "public" answer for an image this long (pagecache.media): it is
# deleted at once when the page's visibility changes; this bounds it only if memcached refuses
# that delete. 0: nginx asks Django for every image.
MEDIA_GATE_CACHE_SECONDS = env_int("MEDIA_GATE_CACHE_SECONDS", 60, minimum=0)
# The directory nginx writes its page log to (the same variable fills deploy/nginx.conf.template),
# read every minute for the nginx hits and misses on /staff/cache/ (pagecache.nginx_log). Empty:
# no nginx in front, nothing read.
NGINX_PAGE_LOG_DIR = env_str("NGINX_PAGE_LOG_DIR", "")
CELERY_BEAT_SCHEDULE["pagecache-collect-nginx-page-log"] = {
    "task": "pagecache.tasks.collect_nginx_page_log",
    "schedule": 60.0,
}
# Anonymous writes allowed per session / per address per minute.
RATE_LIMIT_SESSION_PER_MINUTE = env_int("RATE_LIMIT_SESSION_PER_MINUTE", 60, minimum=1)
RATE_LIMIT_ADDRESS_PER_MINUTE = env_int("RATE_LIMIT_ADDRESS_PER_MINUTE", 600, minimum=1)
# Anonymous /review/next/ requests (each may reserve a page) allowed per address per minute.
RATE_LIMIT_NEXT_PER_ADDRESS_PER_MINUTE = env_int("RATE_LIMIT_NEXT_PER_ADDRESS_PER_MINUTE", 300, minimum=1)
# New anonymous accounts (first writes without a session) allowed per address per hour.
RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR = env_int("RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR", 20, minimum=1)
# Accounts saved with a username and password by visitors over that limit (reviews.held_views).
RATE_LIMIT_NAMED_ACCOUNTS_PER_HOUR = env_int("RATE_LIMIT_NAMED_ACCOUNTS_PER_HOUR", 200, minimum=1)
# Failed logins (public and admin): after this many failures per account / per address within
# the window, each further failure locks it for a delay doubling from BASE up to MAX seconds.
RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT = env_int("RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1)
RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS = env_int("RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS", 20, minimum=1)
RATE_LIMIT_LOGIN_WINDOW_SECONDS = env_int("RATE_LIMIT_LOGIN_WINDOW_SECONDS", 900, minimum=1)
RATE_LIMIT_LOGIN_BASE_DELAY_SECONDS = env_int("RATE_LIMIT_LOGIN_BASE_DELAY_SECONDS", 2, minimum=1)
RATE_LIMIT_LOGIN_MAX_DELAY_SECONDS = env_int("RATE_LIMIT_LOGIN_MAX_DELAY_SECONDS", 300, minimum=1)
# Staff get one email per window when their account reaches its failure threshold: only when the
# site has email configured (EMAIL_HOST or EMAIL_BACKEND), never into the development console.
LOGIN_ALERT_EMAIL = env_bool("LOGIN_ALERT_EMAIL", bool(EMAIL_HOST or env_str("EMAIL_BACKEND")))
# Password reset requests allowed per address and per email address per hour.
RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS_PER_HOUR = env_int(
    "RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS_PER_HOUR", 10, minimum=1
)
RATE_LIMIT_PASSWORD_RESET_PER_EMAIL_PER_HOUR = env_int(
    "RATE_LIMIT_PASSWORD_RESET_PER_EMAIL_PER_HOUR", 3, minimum=1
)
# Anonymous API requests allowed per address per minute (Redis-backed DRF throttle).
RATE_LIMIT_API_ANON_PER_MINUTE = env_int("RATE_LIMIT_API_ANON_PER_MINUTE", 120, minimum=1)
# In-order listings and export cursors leave out what is younger than this: a review is stamped
# a moment before it commits, and a reader must never pass a position something can still land at.
RESULTS_IN_ORDER_SETTLE_SECONDS = env_int("RESULTS_IN_ORDER_SETTLE_SECONDS", 5, minimum=0)
# Largest PDF an editor may upload through the admin, in bytes.
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_BYTES", 200 * 1024 * 1024, minimum=1024)

# Logs (lib/logs.py): LOG_FORMAT=json gives one JSON object per line (production), text is the
# development default; every record carries the request id (X-Request-ID). LOG_REQUESTS: one
# line per request (crowd.request), on by default with JSON (text: gunicorn's access log).
LOG_FORMAT = env_str("LOG_FORMAT", "text").lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOG_REQUESTS = env_bool("LOG_REQUESTS", LOG_FORMAT == "json")
from lib.logs import logging_config  # noqa: E402

LOGGING = logging_config(
    log_format=LOG_FORMAT,
    level=env_str("LOG_LEVEL", "WARNING"),
    crowd_level=env_str("LOG_LEVEL", "INFO"),
)
if not LOG_REQUESTS:
    LOGGING["loggers"]["crowd.request"] = {"level": "WARNING"}
if LOG_FORMAT == "json":
    import logging as _logging

    _logging.captureWarnings(True)  # Python's warnings become records too: JSON, not stray text
# Celery workers keep these handlers (and so the format and the request id) instead of their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Operations: health, metrics, logs (docs/operations.md, Monitoring) ------------------------

# /readyz answers 503 when Postgres does not answer SELECT 1 within this (lib/health.py).
HEALTH_POSTGRES_TIMEOUT_SECONDS = 1.0

# Prometheus metrics (lib/metrics.py): prometheus-client's multiprocess mode keeps each process's
# counters in files under this directory; it must be set before prometheus_client is imported,
# hence the environment variable. `manage.py serve` empties it at start (stale files of an earlier
# run would be summed in); several hosts each have their own.
import os as _os  # noqa: E402

_prometheus_env = env_str("PROMETHEUS_MULTIPROC_DIR")
# A value this file defaulted (and exported for prometheus_client) is inherited by child
# processes; it is not the operator's choice: a child with another CROWD_DATA_DIR (the fault
# tests' private stacks) gets its own.
_prometheus_defaulted = (
    not _prometheus_env or _os.environ.get("CROWD_PROMETHEUS_DEFAULTED") == _prometheus_env
)
PROMETHEUS_MULTIPROC_DIR = (
    DATA_DIR / ("prometheus-test" if TESTING else "prometheus")
    if _prometheus_defaulted
    else Path(_prometheus_env)
)
if TESTING and "pytest" in sys.modules and _prometheus_defaulted:
    # Each test run its own empty directory (a run's counters start from zero, and two runs in
    # one checkout never wipe each other's files); those of runs that ended are removed.
    import shutil as _shutil

    PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
    for _old in PROMETHEUS_MULTIPROC_DIR.iterdir():
        if _old.name.isdigit() and not Path(f"/proc/{_old.name}").exists():
            _shutil.rmtree(_old, ignore_errors=True)
    PROMETHEUS_MULTIPROC_DIR = PROMETHEUS_MULTIPROC_DIR / str(_os.getpid())
    _shutil.rmtree(PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)
if _prometheus_defaulted:  # an operator's directory (a volume) is theirs to provide
    PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
_os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_MULTIPROC_DIR)
if _prometheus_defaulted:
    _os.environ["CROWD_PROMETHEUS_DEFAULTED"] = str(PROMETHEUS_MULTIPROC_DIR)
# /metrics answers these networks (the client address as TRUSTED_PROXIES makes it) ...
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
try:
    import ipaddress as _ipaddress

    for _network in METRICS_ALLOWED_NETWORKS:
        _ipaddress.ip_network(_network, strict=False)
except ValueError as _exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_exc}") from None
# ... and anyone sending `Authorization: Bearer <METRICS_TOKEN>` (empty: no token accepted).
METRICS_TOKEN = env_secret("METRICS_TOKEN")
MIDDLEWARE.insert(
    MIDDLEWARE.index("lib.health.HealthCheckMiddleware") + 1, "lib.metrics.RequestMetricsMiddleware"
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("lib.metrics.RequestMetricsMiddleware") + 1, "lib.logs.RequestLogMiddleware"
)

# Errors to Sentry when SENTRY_DSN is set (sentry-sdk, Django and Celery integrations, no
# personal data); nothing is loaded without it.
SENTRY_DSN = env_secret("SENTRY_DSN")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "production" if PRODUCTION else "development")
if SENTRY_DSN:
    from lib.logs import init_sentry  # noqa: E402

    init_sentry(SENTRY_DSN, environment=SENTRY_ENVIRONMENT, release=env_str("SENTRY_RELEASE"))

# --- Search and OCR (search app) ---------------------------------------------------------------
# Scanned pages are OCR'd on their own Celery queue, one page per task, so OCR never holds up
# imports or the picker's tasks; `manage.py serve` and the tests' workers consume both queues.
CELERY_TASK_ROUTES = {"search.tasks.ocr_next_page_task": {"queue": "ocr"}}
CELERY_BEAT_SCHEDULE["search-requeue-stalled-ocr"] = {
    "task": "search.tasks.requeue_stalled_ocr",
    "schedule": 600.0,
}
# Longest Tesseract may take over one page before it is stopped and the page marked failed.
OCR_TIMEOUT_SECONDS = env_int("OCR_TIMEOUT_SECONDS", 120, minimum=1)
# Anonymous searches (HTML, API, feed, export) allowed per address per minute.
RATE_LIMIT_SEARCH_PER_MINUTE = env_int("RATE_LIMIT_SEARCH_PER_MINUTE", 30, minimum=1)
# A search ranks at most this many matching pages (the first by page id, after the filters):
# ranking every match of a common word is what makes full-text search slow at scale.
SEARCH_RANK_CANDIDATES = env_int("SEARCH_RANK_CANDIDATES", 2000, minimum=10)
# Extra context for the page and document views from apps above the catalogue (hooks, so the
# catalogue's views import nothing of theirs): the search app's reading view.
PAGE_VIEW_CONTEXT_HOOKS = ["search.reading.page_context"]
DOCUMENT_VIEW_CONTEXT_HOOKS = ["search.reading.document_context"]
