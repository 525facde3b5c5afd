"""Security: the secret key, hosts, sessions and cookies, HTTPS and the browser protections,
log-in, email (the password reset), authentication and passwords."""

from __future__ import annotations

import secrets

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_secret, env_str
from config.settings.core import DATA_DIR, PRODUCTION, TESTING

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
# Addresses (or CIDR networks) of reverse proxies whose X-Forwarded-For / X-Real-IP name the
# visitor (reviews.ratelimit.client_address). Empty: REMOTE_ADDR is the visitor.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])

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


if TESTING:
    # Creating and claiming accounts is on many tests' path; the real hasher is deliberately slow.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
