"""The services: PostgreSQL, Redis, memcached (the embedded servers under ``.data/`` unless the
environment names others), Celery and every task of its beat schedule."""

from __future__ import annotations

from urllib.parse import parse_qsl

import dj_database_url

from config.env import env_bool, env_int, env_list, env_secret, env_str
from config.settings.core import DATA_DIR, TESTING
from lib.services import memcached_server, postgres_settings, redis_url

DATABASE_URL = env_secret("DATABASE_URL")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL)
else:
    _db = {"ENGINE": "django.db.backends.postgresql", **postgres_settings(DATA_DIR)}
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

REDIS_URL = env_secret("REDIS_URL") or redis_url(DATA_DIR)
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
    _memcached = [memcached_server(DATA_DIR)]
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
    "task": "catalogue.tasks.requeue_stalled_imports",
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
# Search: scanned pages are OCR'd on their own Celery queue, one page per task, so OCR never holds up
# imports or the picker's tasks; `manage.py serve` and the tests' workers consume both queues.
CELERY_TASK_ROUTES = {"search.tasks.ocr_next_page_task": {"queue": "ocr"}}
CELERY_BEAT_SCHEDULE["search-requeue-stalled-ocr"] = {
    "task": "search.tasks.requeue_stalled_ocr",
    "schedule": 600.0,
}
CELERY_BEAT_SCHEDULE["pagecache-collect-nginx-page-log"] = {
    "task": "pagecache.tasks.collect_nginx_page_log",
    "schedule": 60.0,
}
