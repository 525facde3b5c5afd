"""Lua scripts called by SHA (EVALSHA), loaded once per server and again after ``NOSCRIPT``.

Why not redis-py's ``Script``: in a pipeline it sends ``SCRIPT EXISTS`` for every script on
every ``execute()``, one round trip more per pipeline, which the picker's hot path cannot
afford. Here a script is sent by SHA; a server that does not know it (restarted, flushed, a
new cluster node) answers ``NOSCRIPT``, and only then is the text loaded and the call repeated.
A ``NOSCRIPT`` reply means the script did not run, so repeating it is safe.

Every script of the project is a :class:`LuaScript`, and every ``.lua`` file is read by
:func:`script_text` (:func:`load_script` for a script of one file): one loader, one way to call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from typing import Any

import redis
from redis.exceptions import NoScriptError

_DEFINED: list[LuaScript] = []


class LuaScript:
    """One script: ``script(client, keys, args)`` runs it; ``script.queue(pipe, keys, args)``
    adds it to a pipeline run by :func:`execute`.

    ``in_place``: a queued call must run where it stands in its pipeline, never repeated after
    the commands that follow it (the first write of a key that must be created with its expiry:
    ``denorm.redis_sets.write_temporary``). :func:`execute` then loads the script before it sends
    the pipeline, one round trip more, so that the server never answers it ``NOSCRIPT``."""

    def __init__(self, text: str, name: str = "script", *, in_place: bool = False) -> None:
        self.text = text
        self.name = name
        self.sha = hashlib.sha1(text.encode()).hexdigest()
        self.in_place = in_place
        _DEFINED.append(self)

    def __repr__(self) -> str:
        return f"<LuaScript {self.name} {self.sha[:8]}>"

    def __call__(self, client: redis.Redis, keys: Sequence[Any], args: Sequence[Any] = ()) -> Any:
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            client.script_load(self.text)
            return client.evalsha(self.sha, len(keys), *keys, *args)

    def queue(self, pipe: redis.client.Pipeline, keys: Sequence[Any], args: Sequence[Any] = ()) -> None:
        calls = pipe.__dict__.setdefault("_lua_calls", [])
        calls.append((len(pipe), self, tuple(keys), tuple(args)))
        pipe.evalsha(self.sha, len(keys), *keys, *args)


def execute(pipe: redis.client.Pipeline, client: redis.Redis, *, raise_on_error: bool = True) -> list[Any]:
    """``pipe.execute()`` for a pipeline holding queued scripts: the calls the server answered
    with ``NOSCRIPT`` are loaded and repeated on ``client`` (``in_place`` scripts are loaded
    before the pipeline is sent); any other error is raised as
    ``execute()`` would (the first one), or left in its place with ``raise_on_error`` False."""
    calls = pipe.__dict__.pop("_lua_calls", [])
    in_place = {script.sha: script for _, script, _, _ in calls if script.in_place}
    for script in in_place.values():
        client.script_load(script.text)
    replies: list[Any] = pipe.execute(raise_on_error=False)
    loaded: set[str] = set()
    for index, script, keys, args in calls:
        if isinstance(replies[index], NoScriptError):
            if script.sha not in loaded:
                client.script_load(script.text)
                loaded.add(script.sha)
            try:
                replies[index] = client.evalsha(script.sha, len(keys), *keys, *args)
            except redis.ResponseError as exc:
                replies[index] = exc
    if not raise_on_error:
        return replies
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


def load_defined(client: redis.Redis) -> int:
    """Load every script defined so far (those of the modules imported) into ``client``'s server,
    so that none answers ``NOSCRIPT`` later: for a test that counts a steady state's commands on a
    new server (a ``NOSCRIPT`` costs an EVALSHA more). Returns how many were loaded."""
    shas = {script.sha: script for script in _DEFINED}
    for script in shas.values():
        client.script_load(script.text)
    return len(shas)


def script_text(package: str, name: str) -> str:
    """The text of ``package``'s ``name`` (a path under the package, e.g. ``lua/swap.lua``)
    without its comment-only lines: the headers that name KEYS and ARGV stay in the file, not in
    every call's bytes."""
    text = resources.files(package).joinpath(name).read_text()
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--")) + "\n"


def load_script(package: str, name: str, *, in_place: bool = False) -> LuaScript:
    """The script of one ``.lua`` file of ``package`` (see :func:`script_text`)."""
    return LuaScript(script_text(package, name), name.rpartition("/")[2], in_place=in_place)
