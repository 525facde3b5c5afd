"""Count round trips to Redis and memcached made by the code under test (the real servers
answer; nothing is replaced). A round trip is one packed send to Redis (a pipeline is one) and
one command exchange with memcached (commands sent with ``noreply`` are counted apart:
nothing waits for them)."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager

import pymemcache.client.base
import redis.connection


@contextmanager
def counting(monkeypatch):
    counts = Counter()
    send = redis.connection.AbstractConnection.send_packed_command

    def counted_send(self, *args, **kwargs):
        counts["redis"] += 1
        return send(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted_send)
    for name in ("_fetch_cmd", "_store_cmd", "_misc_cmd"):
        real = getattr(pymemcache.client.base.Client, name)

        def counted(self, *args, _real=real, _name=name, **kwargs):
            # A command sent with noreply waits for nothing: counted apart.
            noreply = kwargs.get("noreply", args[2] if _name == "_misc_cmd" and len(args) > 2 else None)
            counts["memcached noreply" if noreply else "memcached"] += 1
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(pymemcache.client.base.Client, name, counted)
    yield counts
    monkeypatch.undo()
