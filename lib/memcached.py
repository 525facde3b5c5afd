"""Django's pymemcache backend with connections that outlive a request.

Django's ``BaseMemcachedCache.close()`` runs at every ``request_finished`` and calls
``disconnect_all()`` ("many clients don't clean up connections properly"), so every request
opened fresh memcached connections (memcached's ``total_connections`` grew by one or two per
request). pymemcache does clean up: its pooled clients are safe to keep. Django's own
``PyLibMCCache`` makes the same choice (its ``close()`` is a no-op).
"""

from typing import Any

from django.core.cache.backends.memcached import PyMemcacheCache


class PersistentPyMemcacheCache(PyMemcacheCache):
    def close(self, **kwargs: Any) -> None:
        pass  # keep the pooled connections for the next request (see the module docstring)
