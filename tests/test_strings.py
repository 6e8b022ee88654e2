"""String commands: exact Redis 7.0.15 replies, through redis-py and the raw RESP client."""

from __future__ import annotations

import time

import pytest

from resp import Err, Simple

SYNTAX = Err("ERR syntax error")
NOT_INTEGER = Err("ERR value is not an integer or out of range")
NOT_FLOAT = Err("ERR value is not a valid float")


def arity(name: str) -> Err:
    return Err(f"ERR wrong number of arguments for '{name}' command")


# -- GET / SET --------------------------------------------------------------------------

def test_set_get_roundtrip_redis_py(r):
    assert r.set("k", "v") is True
    assert r.get("k") == "v"
    assert r.get("missing") is None


def test_set_get_binary_safe(rb):
    value = bytes(range(256)) + b"\r\n\x00end"
    assert rb.set(b"bin\x00key", value)
    assert rb.get(b"bin\x00key") == value
    assert rb.strlen(b"bin\x00key") == len(value)


def test_set_and_get_wire_format(raw):
    assert raw.wire("SET", "k", "hello") == b"+OK\r\n"
    assert raw.wire("GET", "k") == b"$5\r\nhello\r\n"
    assert raw.wire("GET", "nope") == raw.null_bulk
    assert raw.wire("SET", "empty", "") == b"+OK\r\n"
    assert raw.wire("GET", "empty") == b"$0\r\n\r\n"


def test_set_nx_xx(raw):
    assert raw.call("SET", "k", "1", "NX") == "OK"
    assert raw.wire("SET", "k", "2", "NX") == raw.null_bulk
    assert raw.call("GET", "k") == "1"
    assert raw.call("SET", "k", "3", "XX") == "OK"
    assert raw.call("GET", "k") == "3"
    assert raw.call("SET", "other", "x", "XX") is None
    assert raw.call("EXISTS", "other") == 0


def test_set_expiry_options(raw):
    assert raw.call("SET", "ex", "v", "EX", "100") == "OK"
    assert 99 <= raw.call("TTL", "ex") <= 100
    assert raw.call("SET", "px", "v", "PX", "100000") == "OK"
    assert 99000 <= raw.call("PTTL", "px") <= 100000
    at = int(time.time()) + 200
    assert raw.call("SET", "exat", "v", "EXAT", at) == "OK"
    assert raw.call("EXPIRETIME", "exat") == at
    pxat = int(time.time() * 1000) + 300000
    assert raw.call("SET", "pxat", "v", "PXAT", pxat) == "OK"
    assert raw.call("PEXPIRETIME", "pxat") == pxat
    # a plain SET clears the TTL; KEEPTTL keeps it
    assert raw.call("SET", "ex", "w") == "OK"
    assert raw.call("TTL", "ex") == -1
    assert raw.call("SET", "px", "w", "KEEPTTL") == "OK"
    assert raw.call("PTTL", "px") > 0
    assert raw.call("GET", "px") == "w"


def test_set_options_case_insensitive(raw):
    assert raw.call("set", "k", "v", "ex", "10", "nx") == "OK"
    assert raw.call("SeT", "k", "v2", "Xx", "kEePtTl") == "OK"
    assert raw.call("TTL", "k") > 0


def test_set_get_option(raw):
    assert raw.call("SET", "k", "new", "GET") is None
    assert raw.call("GET", "k") == "new"
    assert raw.call("SET", "k", "newer", "GET") == "new"
    assert raw.call("SET", "k", "x", "NX", "GET") == "newer"
    assert raw.call("GET", "k") == "newer"
    assert raw.call("SET", "missing", "x", "XX", "GET") is None
    assert raw.call("EXISTS", "missing") == 0


@pytest.mark.parametrize(
    "options",
    [
        ["NX", "XX"],
        ["EX", "10", "PX", "100"],
        ["EX", "10", "EXAT", "99999999999"],
        ["PX", "10", "PXAT", "99999999999"],
        ["KEEPTTL", "EX", "10"],
        ["EX", "10", "KEEPTTL"],
        ["EX"],
        ["BOGUS"],
        ["NX", "NX", "XX"],
    ],
)
def test_set_option_conflicts_are_syntax_errors(raw, options):
    assert raw.call("SET", "k", "v", *options) == SYNTAX
    assert raw.call("EXISTS", "k") == 0


@pytest.mark.parametrize(
    "options, error",
    [
        (["EX", "0"], "ERR invalid expire time in 'set' command"),
        (["EX", "-5"], "ERR invalid expire time in 'set' command"),
        (["PX", "0"], "ERR invalid expire time in 'set' command"),
        (["EXAT", "0"], "ERR invalid expire time in 'set' command"),
        (["EX", "abc"], "ERR value is not an integer or out of range"),
        (["PX", "1.5"], "ERR value is not an integer or out of range"),
        (["EX", "9223372036854775807"], "ERR invalid expire time in 'set' command"),
    ],
)
def test_set_invalid_expire(raw, options, error):
    assert raw.call("SET", "k", "v", *options) == Err(error)
    assert raw.call("EXISTS", "k") == 0


def test_set_exat_in_the_past_deletes(raw):
    raw.call("SET", "k", "old")
    assert raw.call("SET", "k", "v", "EXAT", "1") == "OK"
    assert raw.call("GET", "k") is None
    assert raw.call("EXISTS", "k") == 0


def test_setnx_setex_psetex_getset(raw):
    assert raw.call("SETNX", "k", "1") == 1
    assert raw.call("SETNX", "k", "2") == 0
    assert raw.call("GET", "k") == "1"
    assert raw.call("SETEX", "k", "100", "v") == "OK"
    assert 99 <= raw.call("TTL", "k") <= 100
    assert raw.call("PSETEX", "p", "100000", "v") == "OK"
    assert 99000 <= raw.call("PTTL", "p") <= 100000
    assert raw.call("SETEX", "k", "0", "v") == Err("ERR invalid expire time in 'setex' command")
    assert raw.call("PSETEX", "k", "-1", "v") == Err("ERR invalid expire time in 'psetex' command")
    assert raw.call("SETEX", "k", "x", "v") == NOT_INTEGER
    assert raw.call("GETSET", "k", "new") == "v"
    assert raw.call("TTL", "k") == -1
    assert raw.call("GETSET", "nokey", "a") is None
    assert raw.call("GET", "nokey") == "a"


def test_getex(raw):
    raw.call("SET", "k", "v")
    assert raw.call("GETEX", "k") == "v"
    assert raw.call("TTL", "k") == -1
    assert raw.call("GETEX", "k", "EX", "100") == "v"
    assert 99 <= raw.call("TTL", "k") <= 100
    assert raw.call("GETEX", "k", "PX", "50000") == "v"
    assert 49000 <= raw.call("PTTL", "k") <= 50000
    at = int(time.time()) + 500
    assert raw.call("GETEX", "k", "EXAT", at) == "v"
    assert raw.call("EXPIRETIME", "k") == at
    assert raw.call("GETEX", "k", "PERSIST") == "v"
    assert raw.call("TTL", "k") == -1
    assert raw.call("GETEX", "missing", "EX", "10") is None
    assert raw.call("GETEX", "k", "EX", "10", "PX", "10") == SYNTAX
    assert raw.call("GETEX", "k", "EX", "0") == Err("ERR invalid expire time in 'getex' command")
    assert raw.call("GETEX", "k", "PXAT", "1") == "v"
    assert raw.call("EXISTS", "k") == 0


def test_getdel(raw):
    raw.call("SET", "k", "v")
    assert raw.call("GETDEL", "k") == "v"
    assert raw.call("GETDEL", "k") is None
    assert raw.call("EXISTS", "k") == 0


def test_mget_mset_msetnx(raw):
    assert raw.call("MSET", "a", "1", "b", "2", "c", "3") == "OK"
    assert raw.wire("MGET", "a", "nope", "c") == b"*3\r\n$1\r\n1\r\n" + raw.null_bulk + b"$1\r\n3\r\n"
    assert raw.call("MSET", "a", "1", "b") == arity("mset")
    assert raw.call("MSETNX", "x", "1", "a", "9") == 0
    assert raw.call("EXISTS", "x") == 0
    assert raw.call("GET", "a") == "1"
    assert raw.call("MSETNX", "x", "1", "y", "2") == 1
    assert raw.call("MGET", "x", "y") == ["1", "2"]
    assert raw.call("MSETNX", "x") == arity("msetnx")
    # the last of repeated keys wins
    assert raw.call("MSET", "d", "1", "d", "2") == "OK"
    assert raw.call("GET", "d") == "2"


# -- counters ------------------------------------------------------------------------------

def test_incr_decr_family(r):
    assert r.incr("n") == 1
    assert r.incrby("n", 10) == 11
    assert r.decr("n") == 10
    assert r.decrby("n", 15) == -5
    assert r.incrby("n", -5) == -10
    assert r.get("n") == "-10"


def test_incr_keeps_ttl(raw):
    raw.call("SET", "n", "5", "EX", "100")
    assert raw.call("INCR", "n") == 6
    assert raw.call("TTL", "n") > 0


@pytest.mark.parametrize(
    "value", ["abc", "1.5", " 1", "1 ", "", "12a", "99999999999999999999", "+1", "0x10", "-0", "01", "00"]
)
def test_incr_non_integer(raw, value):
    raw.call("SET", "n", value)
    assert raw.call("INCR", "n") == NOT_INTEGER
    assert raw.call("GET", "n") == value


def test_incr_accepts_negative_and_zero(raw):
    raw.call("SET", "m", "-7")
    assert raw.call("INCR", "m") == -6
    raw.call("SET", "z", "0")
    assert raw.call("DECR", "z") == -1
    assert raw.call("INCRBY", "missing", "-3") == -3


def test_incr_overflow(raw):
    raw.call("SET", "n", "9223372036854775807")
    assert raw.call("INCR", "n") == Err("ERR increment or decrement would overflow")
    assert raw.call("GET", "n") == "9223372036854775807"
    raw.call("SET", "m", "-9223372036854775808")
    assert raw.call("DECR", "m") == Err("ERR increment or decrement would overflow")
    assert raw.call("INCRBY", "m", "-1") == Err("ERR increment or decrement would overflow")
    raw.call("SET", "z", "0")
    assert raw.call("DECRBY", "z", "-9223372036854775808") == Err("ERR decrement would overflow")
    assert raw.call("INCRBY", "z", "9223372036854775807") == 9223372036854775807
    assert raw.call("INCRBY", "z", "9223372036854775808") == NOT_INTEGER
    assert raw.call("INCRBY", "z", "abc") == NOT_INTEGER


@pytest.mark.parametrize(
    "start, increment, expected",
    [
        (None, "0.1", "0.1"),
        ("10.50", "0.1", "10.6"),
        ("10.5", "1.5", "12"),
        ("5.0e3", "2.0e2", "5200"),
        ("1.1", "2.2", "3.3"),
        ("3", "-1.5", "1.5"),
        ("0", "1e-5", "0.00001"),
        ("1", "1e20", "100000000000000000000"),
        ("1.0", "0", "1"),
        (
            "0",
            "1e300",
            "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144",
        ),
        ("100", "-100", "0"),
        ("0.1", "0.2", "0.3"),
        ("1", "0.3333333333333333", "1.3333333333333333"),
        ("17179869184", "0.5", "17179869184.5"),
    ],
)
def test_incrbyfloat_formatting(raw, start, increment, expected):
    if start is not None:
        raw.call("SET", "f", start)
    assert raw.wire("INCRBYFLOAT", "f", increment) == b"$%d\r\n%s\r\n" % (len(expected), expected.encode())
    assert raw.call("GET", "f") == expected


def test_incrbyfloat_errors(raw):
    raw.call("SET", "s", "abc")
    assert raw.call("INCRBYFLOAT", "s", "1") == NOT_FLOAT
    raw.call("SET", "f", "1")
    assert raw.call("INCRBYFLOAT", "f", "abc") == NOT_FLOAT
    assert raw.call("INCRBYFLOAT", "f", "inf") == Err("ERR increment would produce NaN or Infinity")
    assert raw.call("INCRBYFLOAT", "f", "nan") == NOT_FLOAT
    assert raw.call("GET", "f") == "1"
    assert raw.call("INCRBYFLOAT", "f") == arity("incrbyfloat")


def test_incrbyfloat_keeps_ttl(raw):
    raw.call("SET", "f", "1", "EX", "100")
    assert raw.call("INCRBYFLOAT", "f", "0.5") == "1.5"
    assert raw.call("TTL", "f") > 0


# -- APPEND / STRLEN / SETRANGE / GETRANGE / SUBSTR ------------------------------------------

def test_append_strlen(raw):
    assert raw.call("APPEND", "k", "Hello") == 5
    assert raw.call("APPEND", "k", " World") == 11
    assert raw.call("GET", "k") == "Hello World"
    assert raw.call("STRLEN", "k") == 11
    assert raw.call("STRLEN", "missing") == 0
    assert raw.call("APPEND", "k", "") == 11


def test_setrange(raw):
    raw.call("SET", "k", "Hello World")
    assert raw.call("SETRANGE", "k", "6", "Redis") == 11
    assert raw.call("GET", "k") == "Hello Redis"
    assert raw.call("SETRANGE", "pad", "5", "abc") == 8
    assert raw.wire("GET", "pad") == b"$8\r\n\x00\x00\x00\x00\x00abc\r\n"
    assert raw.call("SETRANGE", "k", "20", "!") == 21
    assert raw.call("SETRANGE", "k", "-1", "x") == Err("ERR offset is out of range")
    assert raw.call("SETRANGE", "k", "abc", "x") == NOT_INTEGER
    assert raw.call("SETRANGE", "none", "0", "") == 0
    assert raw.call("EXISTS", "none") == 0
    assert raw.call("SETRANGE", "k", "100", "") == 21
    assert raw.call("STRLEN", "k") == 21


@pytest.mark.parametrize(
    "start, end, expected",
    [
        (0, 3, "This"),
        (-3, -1, "ing"),
        (0, -1, "This is a string"),
        (10, 100, "string"),
        (5, 3, ""),
        (-100, 3, "This"),
        (-1, -5, ""),
        (15, 15, "g"),
        (16, 20, ""),
        (-1, -1, "g"),
        (0, -100, "T"),  # Redis 7.0 clamps a too-negative end to 0
    ],
)
def test_getrange(raw, start, end, expected):
    raw.call("SET", "k", "This is a string")
    assert raw.call("GETRANGE", "k", start, end) == expected
    assert raw.call("SUBSTR", "k", start, end) == expected


def test_getrange_missing_and_errors(raw):
    assert raw.wire("GETRANGE", "missing", "0", "-1") == b"$0\r\n\r\n"
    raw.call("SET", "k", "abc")
    assert raw.call("GETRANGE", "k", "a", "1") == NOT_INTEGER
    assert raw.call("GETRANGE", "k", "0") == arity("getrange")
    raw.call("SET", "empty", "")
    assert raw.call("GETRANGE", "empty", "0", "-1") == ""


def test_redis_py_string_api(r):
    assert r.mset({"a": "1", "b": "2"})
    assert r.mget(["a", "b", "c"]) == ["1", "2", None]
    assert r.msetnx({"a": "x", "z": "y"}) is False
    assert r.setnx("s", "v") is True
    assert r.execute_command("SETEX", "e", 100, "v") is True
    assert r.psetex("pe", 100000, "v") is True
    assert r.getset("s", "w") == "v"
    assert r.getex("s", ex=50) == "w"
    assert r.getdel("s") == "w"
    assert r.incrbyfloat("f", 2.5) == 2.5
    assert r.append("ap", "xy") == 2
    assert r.setrange("ap", 1, "Z") == 2
    assert r.getrange("ap", 0, -1) == "xZ"
    assert r.strlen("ap") == 2
    assert r.set("k", "v", ex=10, nx=True) is True
    assert r.set("k", "v", ex=10, nx=True) is None
    assert r.set("k", "v2", get=True) == "v"
    assert r.set("k", "v3", keepttl=True, xx=True) is True
