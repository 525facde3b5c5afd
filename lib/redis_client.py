"""The one Redis client of the project, built lazily (never at import) and shared per process.

``REDIS_CLUSTER=1`` makes it a :class:`redis.cluster.RedisCluster` seeded from ``REDIS_URL`` (any
node of the cluster); every key of the project carries a hash tag (lib/keys.py) so that each
command, script and transaction touches one slot. Without it: a plain :class:`redis.Redis`.
"""

from __future__ import annotations

import threading
from typing import Any, cast

import redis
import redis.cluster
from django.conf import settings

_client: redis.Redis | None = None
_lock = threading.Lock()

# Short timeouts: a dead Redis must fail fast so the fallbacks serve.
_OPTIONS = {
    "decode_responses": True,
    "socket_connect_timeout": 0.25,
    "socket_timeout": 0.5,
    "health_check_interval": 30,
    "max_connections": 64,
}


def get_redis() -> redis.Redis:
    """The shared client (a RedisCluster when ``settings.REDIS_CLUSTER``)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                if getattr(settings, "REDIS_CLUSTER", False):
                    options = {k: v for k, v in _OPTIONS.items() if k != "health_check_interval"}
                    # The cluster client answers the commands the project sends as a Redis does.
                    _client = cast(redis.Redis, _cluster_class().from_url(settings.REDIS_URL, **options))
                else:
                    _client = redis.Redis.from_url(settings.REDIS_URL, **_OPTIONS)
    return _client


def reset_redis() -> None:
    """Forget the client (tests that point REDIS_URL elsewhere, forked workers)."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None


# --- Redis Cluster ------------------------------------------------------------------------------

_Cluster = None


def _cluster_class() -> type[redis.cluster.RedisCluster]:
    """RedisCluster whose pipelines are :class:`SlotPipeline` (built on first use only)."""
    global _Cluster
    if _Cluster is None:
        from redis.cluster import RedisCluster

        class Cluster(RedisCluster):
            def pipeline(self, transaction: Any = True, shard_hint: Any = None) -> SlotPipeline:
                return SlotPipeline(self, transaction=bool(transaction))

        _Cluster = Cluster
    return _Cluster


class SlotPipeline(redis.client.Pipeline):
    """A pipeline on a Redis Cluster that queues each command on a plain pipeline of the node
    owning its first key's slot, and returns the replies in the order queued.

    redis-py's own cluster pipeline refuses EVALSHA (so registered scripts), RENAME, SDIFFSTORE
    and the like even when their keys share a slot, and takes EVAL's arguments differently; a
    node runs them for any slot it owns. The project's keys carry hash tags (lib/keys.py), so every
    command's keys share one slot. With ``transaction=True`` (MULTI/EXEC, the default as on a
    plain Redis) every command must go to one node: the keys must share a slot.
    A slot moving while a pipeline runs (resharding) fails that pipeline with MOVED: the callers
    treat it as any Redis error (fallbacks), and the next call sees the new map.
    """

    # Pipeline's attributes set by hand (no Pipeline.__init__): the stubs' types of some differ.
    def __init__(self, cluster: Any, *, transaction: bool) -> None:  # noqa: D107
        self.cluster = cluster  # type: ignore[method-assign]
        self.transaction = transaction  # type: ignore[method-assign,assignment]
        self.shard_hint = None
        self.watching = False
        self.explicit_transaction = False
        self.connection = None
        self.connection_pool = None  # type: ignore[assignment]
        self.command_stack = []
        self.scripts = set()
        self._pipes: dict[str, redis.client.Pipeline] = {}
        self._order: list[tuple[str, int]] = []

    def __len__(self) -> int:
        return len(self._order)

    def __del__(self) -> None:
        pass

    def reset(self) -> None:  # type: ignore[override]
        for pipe in self._pipes.values():
            pipe.reset()
        self._pipes = {}
        self._order = []
        self.scripts = set()

    def _first_key(self, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        if str(args[0]).upper() in {"EVAL", "EVALSHA"}:
            return args[3] if len(args) > 3 and int(args[2]) > 0 else None
        return args[1] if len(args) > 1 else None

    def execute_command(self, *args: Any, **options: Any) -> SlotPipeline:
        key = self._first_key(args, options)
        cluster: Any = self.cluster
        node = cluster.get_node_from_key(key) if key is not None else cluster.get_default_node()
        pipe = self._pipes.get(node.name)
        if pipe is None:
            if self.transaction and self._pipes:  # type: ignore[truthy-function]  # a bool here
                raise redis.exceptions.RedisClusterException(
                    "a transaction's keys must share one hash slot (see lib/keys.py)"
                )
            pipe = cluster.get_redis_connection(node).pipeline(transaction=self.transaction)
            self._pipes[node.name] = pipe
        pipe.execute_command(*args, **options)
        self._order.append((node.name, len(pipe) - 1))
        return self

    def execute(self, raise_on_error: bool = True) -> list[Any]:

        try:
            replies = {}
            for name, pipe in self._pipes.items():
                if self.scripts:
                    pipe.scripts = set(self.scripts)  # loaded on that node if it lacks them
                replies[name] = pipe.execute(raise_on_error=raise_on_error)
            return [replies[name][index] for name, index in self._order]
        finally:
            self.reset()
