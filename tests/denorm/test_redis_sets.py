"""Reading registered Redis sets for checks and repairs: large sets in SCAN batches."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from denorm import redis_sets
from denorm.redis_sets import WHOLE_READ_MAX, read_sets, sync_set
from lib.redis_client import get_redis
from lib.redis_scripts import execute

BIG = WHOLE_READ_MAX + 5_000


def _fill(key: str, members: range, *, sorted_set: bool) -> None:
    client = get_redis()
    pipe = client.pipeline(transaction=False)
    ids = list(members)
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        if sorted_set:
            pipe.zadd(key, dict.fromkeys(chunk, 0))
        else:
            pipe.sadd(key, *chunk)
    pipe.execute()


def test_it_reads_small_and_large_sets_and_sorted_sets_whole():
    """Every member of every key, whatever its size and type; a missing key reads empty."""
    _fill("t:{x}:small", range(1, 11), sorted_set=False)
    _fill("t:{x}:big", range(1, BIG + 1), sorted_set=False)
    _fill("t:{x}:bigz", range(1, BIG + 1), sorted_set=True)
    small, big, bigz, missing = read_sets(
        ["t:{x}:small", "t:{x}:big", "t:{x}:bigz", "t:{x}:none"], sorted_set=[False, False, True, False]
    )
    assert small == {str(i) for i in range(1, 11)}
    assert big == bigz == {str(i) for i in range(1, BIG + 1)}
    assert missing == set()


def test_a_large_set_is_never_read_with_one_smembers(monkeypatch):
    """Sets over WHOLE_READ_MAX members are scanned in batches: no single command returns them
    all (one SMEMBERS of millions of ids outlasts the client's timeout and blocks Redis)."""
    _fill("t:{y}:big", range(1, BIG + 1), sorted_set=False)
    client = get_redis()
    calls = []
    original = client.execute_command

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "execute_command", counting)
    [found] = read_sets(["t:{y}:big"])
    assert len(found) == BIG
    assert "SMEMBERS" not in calls
    assert calls.count("SSCAN") >= BIG // redis_sets.SCAN_BATCH


def test_sync_set_finds_and_repairs_drift_in_a_large_set(db):
    """The periodic check and repair work on sets of a large release too."""
    key = "t:{z}:big"
    _fill(key, range(1, BIG + 1), sorted_set=False)
    client = get_redis()
    client.srem(key, 7)
    client.sadd(key, 999_999_999)
    truth = set(range(1, BIG + 1))
    with CaptureQueriesContext(connection):
        drift = sync_set(key, truth)
    assert (drift.missing, drift.extra) == (1, 1)
    assert sync_set(key, truth, fix=True).missing == 1
    assert sync_set(key, truth).ok


def test_a_temporary_key_is_created_with_its_expiry_in_one_command():
    """A rebuild's temporary key never exists without an expiry, even if the worker dies right
    after the first command of its build pipeline reached Redis (tests/faults has the real kill)."""
    r = get_redis()
    r.delete("crowd-test:tmp-set", "crowd-test:tmp-zset")
    pipe = r.pipeline(transaction=False)
    redis_sets.write_temporary(pipe, "SADD", "crowd-test:tmp-set", list(range(2500)))
    first_args, _options = pipe.command_stack[0]
    assert first_args[0] == "EVALSHA"  # the one loader's script, by SHA
    r.script_load(redis_sets.WRITE_EXPIRING.text)
    r.execute_command(*first_args)  # only the first command arrives
    assert r.scard("crowd-test:tmp-set") == redis_sets.FIRST_WRITE_VALUES
    assert 0 < r.ttl("crowd-test:tmp-set") <= redis_sets.TEMPORARY_SECONDS
    execute(pipe, r)  # and the whole build: every member, still expiring
    assert r.scard("crowd-test:tmp-set") == 2500 and r.ttl("crowd-test:tmp-set") > 0
    pipe = r.pipeline(transaction=False)
    flat = [v for m in range(1500) for v in (m * 2, f"m{m}")]
    redis_sets.write_temporary(pipe, "ZADD", "crowd-test:tmp-zset", flat, per_item=2)
    execute(pipe, r)
    assert r.zcard("crowd-test:tmp-zset") == 1500 and r.zscore("crowd-test:tmp-zset", "m7") == 14
    assert r.ttl("crowd-test:tmp-zset") > 0
    r.delete("crowd-test:tmp-set", "crowd-test:tmp-zset")
