"""The one Lua loader (lib.redis_scripts): scripts by SHA, loaded on NOSCRIPT, and the scripts that
must run in place in their pipeline loaded before it is sent."""

import uuid

from lib.redis_client import get_redis
from lib.redis_scripts import LuaScript, execute

_SET = "redis.call('SET', KEYS[1], ARGV[1]) return 1 -- {}"


def _unknown_script(*, in_place: bool) -> LuaScript:
    """A script no server has seen (its text, so its SHA, is new)."""
    return LuaScript(_SET.format(uuid.uuid4().hex), "set", in_place=in_place)


def test_a_script_the_server_does_not_know_is_loaded_and_run_once():
    r = get_redis()
    script = _unknown_script(in_place=False)
    assert script(r, ["crowd-test:lua"], ["one"]) == 1
    assert r.get("crowd-test:lua") == "one"
    r.delete("crowd-test:lua")


def test_a_script_that_runs_in_place_is_loaded_before_its_pipeline_is_sent():
    """A queued call the server answers NOSCRIPT is repeated after the pipeline, so after the
    commands that followed it; an ``in_place`` one never is: it runs where it stands."""
    r = get_redis()
    for in_place, final in ((False, "script"), (True, "after")):
        pipe = r.pipeline(transaction=False)
        _unknown_script(in_place=in_place).queue(pipe, ["crowd-test:lua"], ["script"])
        pipe.set("crowd-test:lua", "after")
        assert execute(pipe, r) == [1, True]
        assert r.get("crowd-test:lua") == final, in_place
    r.delete("crowd-test:lua")
