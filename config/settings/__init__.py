"""Crowd review settings, read from the environment (``config.env``'s typed readers) with safe
defaults. ``DJANGO_SETTINGS_MODULE=config.settings``; every setting is defined once, in the module
of its concern:

- ``core``: paths, the mode (``DEBUG``, ``PRODUCTION``, ``TESTING``), apps, middleware, URLconf,
  templates, language and time, static and media files, the API framework;
- ``security``: the secret key, hosts and proxies, sessions and cookies, HTTPS and the browser
  protections, log-in, email, authentication and passwords;
- ``services``: PostgreSQL, Redis, memcached, Celery and its whole beat schedule;
- ``limits``: rate limits, request and upload sizes;
- ``product``: the picker, the review screen, the page cache, results, consensus, search, and the
  settings-named hooks (docs/architecture.md);
- ``operations``: logs, health, metrics, Sentry.

With no DATABASE_URL / REDIS_URL / MEMCACHED_SERVERS the embedded servers under ``.data/`` are
used, and their effective URLs are exposed here. Loading the settings starts nothing: the entry
points start the servers (see lib/services.py).
"""

from config.settings.core import *  # noqa: F403
from config.settings.limits import *  # noqa: F403
from config.settings.operations import *  # noqa: F403
from config.settings.product import *  # noqa: F403
from config.settings.security import *  # noqa: F403
from config.settings.services import *  # noqa: F403
