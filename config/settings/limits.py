"""Limits: the rate limits of anonymous writes, accounts, logins, password resets, the API and
search, and the sizes of requests and uploads."""

from __future__ import annotations

from config.env import env_bool, env_int, env_str
from config.settings.security import EMAIL_HOST

# Bodies larger than this are refused before a view sees them (a review is a few hundred bytes).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
# The admin posts one field per selected document of an assignment: allow large selections.
# Review posts are bounded separately (frontdesk.views.REVIEW_MAX_BODY_BYTES, MAX_TAGS_PER_REVIEW).
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 10_000, minimum=100)
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
# Anonymous searches (HTML, API, feed, export) allowed per address per minute.
RATE_LIMIT_SEARCH_PER_MINUTE = env_int("RATE_LIMIT_SEARCH_PER_MINUTE", 30, minimum=1)
# Largest PDF an editor may upload through the admin, in bytes.
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_BYTES", 200 * 1024 * 1024, minimum=1024)
