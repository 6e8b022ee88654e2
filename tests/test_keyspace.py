"""Keyspace commands: DEL, UNLINK, EXISTS, TYPE, RENAME(NX), RANDOMKEY, KEYS, SCAN, DBSIZE, FLUSH*."""

from __future__ import annotations

import pytest

from resp import Err

SYNTAX = Err("ERR syntax error")


def arity(name: str) -> Err:
    return Err(f"ERR wrong number of arguments for '{name}' command")


def test_del_unlink_exists(raw):
    raw.call("MSET", "a", "1", "b", "2", "c", "3")
    assert raw.call("EXISTS", "a", "a", "nope", "b") == 3
    assert raw.call("DEL", "a", "nope", "a") == 1
    assert raw.call("UNLINK", "b", "c", "d") == 2
    assert raw.call("EXISTS", "a", "b", "c") == 0
    assert raw.call("DEL") == arity("del")
    assert raw.call("EXISTS") == arity("exists")


def test_type(raw):
    raw.call("SET", "s", "v")
    assert raw.wire("TYPE", "s") == b"+string\r\n"
    assert raw.wire("TYPE", "missing") == b"+none\r\n"


def test_rename(raw):
    raw.call("SET", "a", "1", "EX", "100")
    assert raw.call("RENAME", "a", "b") == "OK"
    assert raw.call("EXISTS", "a") == 0
    assert raw.call("GET", "b") == "1"
    assert 0 < raw.call("TTL", "b") <= 100
    raw.call("SET", "c", "3")
    assert raw.call("RENAME", "c", "b") == "OK"  # overwrites, and the target's TTL goes with it
    assert raw.call("GET", "b") == "3"
    assert raw.call("TTL", "b") == -1
    assert raw.call("RENAME", "b", "b") == "OK"
    assert raw.call("GET", "b") == "3"


def test_rename_missing_key(raw):
    assert raw.call("RENAME", "missing", "x") == Err("ERR no such key")
    assert raw.call("RENAMENX", "missing", "x") == Err("ERR no such key")
    assert raw.call("RENAME", "missing", "missing") == Err("ERR no such key")


def test_renamenx(raw):
    raw.call("MSET", "a", "1", "b", "2")
    assert raw.call("RENAMENX", "a", "b") == 0
    assert raw.call("MGET", "a", "b") == ["1", "2"]
    assert raw.call("RENAMENX", "a", "c") == 1
    assert raw.call("MGET", "a", "c") == [None, "1"]
    assert raw.call("RENAMENX", "c", "c") == 0


def test_randomkey(raw):
    assert raw.wire("RANDOMKEY") == raw.null_bulk
    keys = {f"k{i}" for i in range(20)}
    for key in keys:
        raw.call("SET", key, "v")
    seen = {raw.call("RANDOMKEY") for _ in range(50)}
    assert seen <= keys
    assert len(seen) > 1


def test_dbsize_flushall_flushdb(raw):
    assert raw.call("DBSIZE") == 0
    raw.call("MSET", "a", "1", "b", "2")
    assert raw.call("DBSIZE") == 2
    assert raw.call("FLUSHDB") == "OK"
    assert raw.call("DBSIZE") == 0
    raw.call("SET", "a", "1", "EX", "100")
    assert raw.call("FLUSHALL") == "OK"
    assert raw.call("DBSIZE") == 0
    raw.call("SET", "a", "1")
    assert raw.call("FLUSHALL", "SYNC") == "OK"
    assert raw.call("FLUSHDB", "ASYNC") == "OK"
    assert raw.call("DBSIZE") == 0
    assert raw.call("FLUSHALL", "BOGUS") == SYNTAX


KEYS_FIXTURE = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "user:1", "user:2", "user:10", "other"]


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("*", KEYS_FIXTURE),
        ("h?llo", ["hello", "hallo", "hxllo", "h*llo"]),
        ("h*llo", ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo"]),
        ("h[ae]llo", ["hello", "hallo"]),
        ("h[^e]llo", ["hallo", "hxllo", "h*llo"]),
        ("h[a-b]llo", ["hallo"]),
        ("h\\*llo", ["h*llo"]),
        ("user:?", ["user:1", "user:2"]),
        ("user:*", ["user:1", "user:2", "user:10"]),
        ("nomatch*", []),
        ("other", ["other"]),
    ],
)
def test_keys_glob(raw, pattern, expected):
    for key in KEYS_FIXTURE:
        raw.call("SET", key, "v")
    assert sorted(raw.call("KEYS", pattern)) == sorted(expected)


def _scan_all(raw, *options) -> tuple[list[str], int]:
    cursor, seen, rounds = "0", [], 0
    while True:
        reply = raw.call("SCAN", cursor, *options)
        assert isinstance(reply, list) and len(reply) == 2, reply
        cursor, keys = reply
        assert isinstance(cursor, str) and cursor.isdigit()
        seen.extend(keys)
        rounds += 1
        assert rounds < 10_000, "SCAN did not finish"
        if cursor == "0":
            return seen, rounds


def test_scan_full_iteration(raw):
    keys = {f"key:{i}" for i in range(500)}
    for batch_start in range(0, 500, 100):
        raw.call("MSET", *[part for i in range(batch_start, batch_start + 100) for part in (f"key:{i}", "v")])
    seen, rounds = _scan_all(raw, "COUNT", "10")
    assert set(seen) == keys
    assert rounds > 1
    seen, _ = _scan_all(raw)
    assert set(seen) == keys


def test_scan_match_count_type(raw):
    # One MSET, not 600 SETs: each write waits for its fsync.
    assert raw.call("MSET", *[part for i in range(300) for part in (f"user:{i}", "v", f"item:{i}", "v")]) == "OK"
    seen, _ = _scan_all(raw, "MATCH", "user:1*", "COUNT", "25")
    assert set(seen) == {f"user:{i}" for i in range(300) if str(i).startswith("1")}
    seen, _ = _scan_all(raw, "TYPE", "string", "COUNT", "100")
    assert len(set(seen)) == 600
    seen, _ = _scan_all(raw, "TYPE", "hash")
    assert seen == []
    seen, _ = _scan_all(raw, "MATCH", "nothing*")
    assert seen == []


def test_scan_empty_and_errors(raw):
    assert raw.call("SCAN", "0") == ["0", []]
    assert raw.call("SCAN", "abc") == Err("ERR invalid cursor")
    assert raw.call("SCAN", "0", "COUNT", "0") == SYNTAX
    assert raw.call("SCAN", "0", "COUNT", "abc") == Err("ERR value is not an integer or out of range")
    assert raw.call("SCAN", "0", "BOGUS", "1") == SYNTAX
    assert raw.call("SCAN", "0", "MATCH") == SYNTAX


def test_scan_redis_py_iter(r):
    r.mset({f"k{i}": i for i in range(250)})
    assert set(r.scan_iter(match="k1*", count=20)) == {f"k{i}" for i in range(250) if str(i).startswith("1")}
    assert r.dbsize() == 250
    assert sorted(r.keys("k2?")) == sorted(f"k{i}" for i in range(20, 30))


def test_redis_py_keyspace_api(r):
    r.set("a", "1")
    assert r.exists("a", "b") == 1
    assert r.type("a") == "string"
    assert r.rename("a", "b") is True
    assert r.renamenx("b", "c") is True
    assert r.randomkey() == "c"
    assert r.unlink("c") == 1
    assert r.delete("c") == 0
    assert r.flushdb() is True
