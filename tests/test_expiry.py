"""Expiry: EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT with NX/XX/GT/LT, TTL family, PERSIST, passive and
active expiry (polled with a deadline, never slept)."""

from __future__ import annotations

import time

import pytest

from harness import wait_until
from resp import Err

NOT_INTEGER = Err("ERR value is not an integer or out of range")


def arity(name: str) -> Err:
    return Err(f"ERR wrong number of arguments for '{name}' command")


def test_ttl_states(raw):
    assert raw.call("TTL", "missing") == -2
    assert raw.call("PTTL", "missing") == -2
    assert raw.call("EXPIRETIME", "missing") == -2
    assert raw.call("PEXPIRETIME", "missing") == -2
    raw.call("SET", "k", "v")
    assert raw.call("TTL", "k") == -1
    assert raw.call("PTTL", "k") == -1
    assert raw.call("EXPIRETIME", "k") == -1
    assert raw.call("PEXPIRETIME", "k") == -1


def test_expire_family(raw):
    raw.call("SET", "k", "v")
    assert raw.call("EXPIRE", "k", "100") == 1
    assert 99 <= raw.call("TTL", "k") <= 100
    assert raw.call("PEXPIRE", "k", "200000") == 1
    assert 199000 <= raw.call("PTTL", "k") <= 200000
    at = int(time.time()) + 1000
    assert raw.call("EXPIREAT", "k", at) == 1
    assert raw.call("EXPIRETIME", "k") == at
    assert raw.call("PEXPIRETIME", "k") == at * 1000
    pat = int(time.time() * 1000) + 5_000_123
    assert raw.call("PEXPIREAT", "k", pat) == 1
    assert raw.call("PEXPIRETIME", "k") == pat
    assert raw.call("EXPIRETIME", "k") == (pat + 500) // 1000
    assert raw.call("EXPIRE", "missing", "100") == 0
    assert raw.call("PERSIST", "k") == 1
    assert raw.call("TTL", "k") == -1
    assert raw.call("PERSIST", "k") == 0
    assert raw.call("PERSIST", "missing") == 0


@pytest.mark.parametrize(
    "command, argument",
    [("EXPIRE", "-1"), ("EXPIRE", "0"), ("PEXPIRE", "-100"), ("EXPIREAT", "1"), ("PEXPIREAT", "1000")],
)
def test_expire_in_the_past_deletes(raw, command, argument):
    raw.call("SET", "k", "v")
    assert raw.call(command, "k", argument) == 1
    assert raw.call("EXISTS", "k") == 0
    assert raw.call("GET", "k") is None
    assert raw.call("TTL", "k") == -2


def test_expire_conditions_on_key_without_ttl(raw):
    raw.call("SET", "k", "v")
    assert raw.call("EXPIRE", "k", "100", "XX") == 0
    assert raw.call("EXPIRE", "k", "100", "GT") == 0
    assert raw.call("TTL", "k") == -1
    assert raw.call("EXPIRE", "k", "100", "LT") == 1
    raw.call("PERSIST", "k")
    assert raw.call("EXPIRE", "k", "100", "NX") == 1
    assert raw.call("EXPIRE", "k", "50", "NX") == 0
    assert 99 <= raw.call("TTL", "k") <= 100


def test_expire_conditions_on_key_with_ttl(raw):
    raw.call("SET", "k", "v", "EX", "100")
    assert raw.call("EXPIRE", "k", "200", "XX") == 1
    assert raw.call("EXPIRE", "k", "150", "GT") == 0
    assert raw.call("EXPIRE", "k", "300", "GT") == 1
    assert raw.call("EXPIRE", "k", "400", "LT") == 0
    assert raw.call("EXPIRE", "k", "50", "LT") == 1
    assert 49 <= raw.call("TTL", "k") <= 50
    assert raw.call("PEXPIRE", "k", "10000", "xx", "lt") == 1
    assert raw.call("PTTL", "k") <= 10000
    assert raw.call("EXPIRE", "missing", "10", "XX") == 0


@pytest.mark.parametrize(
    "options, error",
    [
        (["NX", "XX"], "ERR NX and XX, GT or LT options at the same time are not compatible"),
        (["NX", "GT"], "ERR NX and XX, GT or LT options at the same time are not compatible"),
        (["GT", "LT"], "ERR GT and LT options at the same time are not compatible"),
        (["BOGUS"], "ERR Unsupported option BOGUS"),
    ],
)
def test_expire_option_errors(raw, options, error):
    raw.call("SET", "k", "v")
    assert raw.call("EXPIRE", "k", "100", *options) == Err(error)
    assert raw.call("TTL", "k") == -1


def test_expire_argument_errors(raw):
    raw.call("SET", "k", "v")
    assert raw.call("EXPIRE", "k", "abc") == NOT_INTEGER
    assert raw.call("EXPIRE", "k", "1.5") == NOT_INTEGER
    assert raw.call("EXPIRE", "k", "9223372036854775807") == Err("ERR invalid expire time in 'expire' command")
    assert raw.call("PEXPIRE", "k", "9223372036854775807") == Err("ERR invalid expire time in 'pexpire' command")
    assert raw.call("EXPIRE", "k") == arity("expire")
    assert raw.call("TTL") == arity("ttl")
    assert raw.call("TTL", "k") == -1


def test_key_expires_passively_and_actively(raw, server):
    raw.call("SET", "short", "v", "PX", "150")
    raw.call("SET", "long", "v", "EX", "1000")
    raw.call("SET", "plain", "v")
    assert raw.call("EXISTS", "short") == 1
    wait_until(lambda: raw.call("GET", "short") is None, 5.0, message="short key expires")
    assert raw.call("TTL", "short") == -2
    assert "short" not in raw.call("KEYS", "*")
    # active expiry: an expired key that is never touched leaves DBSIZE
    raw.call("SET", "untouched", "v", "PX", "100")
    assert raw.call("DBSIZE") == 3
    with server.raw() as observer:
        wait_until(lambda: observer.call("DBSIZE") == 2, 10.0, 0.05, "active expiry removes untouched key")
    assert sorted(raw.call("KEYS", "*")) == ["long", "plain"]


def test_ttl_countdown(raw):
    raw.call("SET", "k", "v", "PX", "60000")
    first = raw.call("PTTL", "k")
    wait_until(lambda: raw.call("PTTL", "k") < first, 5.0, message="PTTL decreases")


def test_redis_py_expiry_api(r):
    r.set("k", "v")
    assert r.expire("k", 100) is True
    assert r.expire("k", 50, gt=True) is False
    assert r.pexpire("k", 20000, lt=True) is True
    assert 0 < r.ttl("k") <= 20
    assert 0 < r.pttl("k") <= 20000
    assert r.expiretime("k") > time.time()
    assert r.pexpiretime("k") > time.time() * 1000
    assert r.persist("k") is True
    assert r.expireat("k", int(time.time()) + 100) is True
    assert r.pexpireat("k", int(time.time() * 1000) + 100000) is True
    assert r.expire("missing", 10) is False
