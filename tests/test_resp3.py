"""RESP3 (``HELLO 3``): redis-py 8 with its default settings, the exact RESP3 bytes Redis 7.0
sends (null, map, verbatim string), switching back and forth, and ``redis-cli -3``.

The command suites (test_strings.py, test_keyspace.py, test_expiry.py) also run under RESP3:
see ``--protocol`` in conftest.py.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import warnings

import pytest
import redis

from harness import HOST
from resp import Err, RawClient, encode

HELLO_FIELDS = ("server", "version", "proto", "id", "mode", "role", "modules")


@pytest.fixture
def default_client(server):
    """``redis.Redis(host, port)`` exactly as an application writes it: redis-py's defaults
    (RESP3 since 8.0), with warnings turned into errors and redis-py's log watched, so a
    fallback to RESP2 (redis-py 8.2 logs a warning when HELLO 3 is refused) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = redis.Redis(host=HOST, port=server.port)
        try:
            client.flushall()
            yield client
        finally:
            client.close()


@pytest.fixture
def no_fallback(caplog):
    caplog.set_level(logging.WARNING, logger="redis")
    yield
    fallbacks = [record.getMessage() for record in caplog.records if "RESP2" in record.getMessage()]
    assert not fallbacks, f"redis-py fell back to RESP2: {fallbacks}"


def test_redis_py_defaults_negotiate_resp3(default_client, no_fallback):
    assert default_client.ping() is True
    connection = default_client.connection_pool.get_connection()
    try:
        assert int(connection.protocol) == 3
        metadata = {key.decode() if isinstance(key, bytes) else key: value
                    for key, value in connection.handshake_metadata.items()}
        assert metadata["proto"] == 3
        assert set(HELLO_FIELDS) <= set(metadata), metadata
    finally:
        default_client.connection_pool.release(connection)
    hello = default_client.execute_command("HELLO")
    assert hello[b"proto"] == 3 and hello[b"server"] == b"redis" and hello[b"modules"] == []


def test_redis_py_resp3_string_commands_are_typed(default_client, no_fallback):
    r = default_client
    assert r.get("missing") is None
    assert r.set("k", "v") is True
    assert r.set("k", "w", nx=True) is None
    assert r.set("k", "w", get=True) == b"v"
    assert r.get("k") == b"w"
    assert r.mget("k", "missing") == [b"w", None]
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.msetnx({"a": "x", "c": "3"}) is False
    assert r.setnx("k", "x") is False and r.setnx("fresh", "x") is True
    assert r.getset("k", "g") == b"w"
    assert r.getset("missing-too", "m") is None
    assert r.getdel("missing") is None and r.getdel("missing-too") == b"m"
    assert r.getex("k", ex=100) == b"g" and 0 < r.ttl("k") <= 100
    assert r.incr("n") == 1 and r.incrby("n", 5) == 6 and r.decr("n") == 5 and r.decrby("n", 10) == -5
    assert r.incrbyfloat("f", 1.5) == 1.5 and isinstance(r.incrbyfloat("f", 1), float)
    assert r.append("s", "ab") == 2 and r.strlen("s") == 2
    assert r.setrange("s", 4, "z") == 5 and r.getrange("s", 0, -1) == b"ab\x00\x00z"
    assert r.substr("s", 0, 1) == b"ab"
    assert r.setex("ex", 100, "v") is True and r.psetex("px", 100000, "v") is True


def test_redis_py_resp3_keyspace_commands_are_typed(default_client, no_fallback):
    r = default_client
    assert r.randomkey() is None
    r.mset({"user:1": "a", "user:2": "b", "item:1": "c"})
    assert r.exists("user:1", "user:2", "missing") == 2
    assert r.type("user:1") == b"string"
    assert r.dbsize() == 3
    assert sorted(r.keys("user:*")) == [b"user:1", b"user:2"]
    cursor, keys = r.scan(0, match="user:*", count=100)
    assert cursor == 0 and sorted(keys) == [b"user:1", b"user:2"]
    assert sorted(r.scan_iter(match="item:*")) == [b"item:1"]
    assert r.randomkey() in (b"user:1", b"user:2", b"item:1")
    assert r.rename("item:1", "item:2") is True
    assert r.renamenx("item:2", "user:1") is False
    assert r.ttl("user:1") == -1 and r.ttl("missing") == -2 and r.pttl("missing") == -2
    assert r.expire("user:1", 100) is True and r.expire("missing", 100) is False
    assert r.expiretime("user:1") > 0 and r.pexpiretime("user:1") > 0
    assert r.persist("user:1") is True and r.persist("user:1") is False
    assert r.delete("user:1", "missing") == 1 and r.unlink("user:2") == 1
    assert r.flushall() is True and r.dbsize() == 0


def test_redis_py_resp3_server_commands_are_typed(default_client, no_fallback):
    r = default_client
    assert r.config_get("timeout") == {"timeout": "0"}  # redis-py decodes CONFIG GET's map
    info = r.info("server")
    assert isinstance(info, dict) and info["redis_version"] == "7.0.15"
    assert r.client_setname("resp3-worker") is True
    assert r.client_getname() == "resp3-worker"
    client_info = r.client_info()
    assert isinstance(client_info, dict) and client_info["resp"] == "3"
    assert any(entry.get("name") == "resp3-worker" for entry in r.client_list())
    assert isinstance(r.client_id(), int)
    assert r.command_count() > 0


# -- exact bytes -------------------------------------------------------------------------

def _hello_map(client_id: int, proto: int) -> bytes:
    fields = [
        (b"server", b"$5\r\nredis\r\n"), (b"version", b"$6\r\n7.0.15\r\n"), (b"proto", b":%d\r\n" % proto),
        (b"id", b":%d\r\n" % client_id), (b"mode", b"$10\r\nstandalone\r\n"), (b"role", b"$6\r\nmaster\r\n"),
        (b"modules", b"*0\r\n"),
    ]
    body = b"".join(b"$%d\r\n%s\r\n%s" % (len(name), name, value) for name, value in fields)
    return (b"%7\r\n" if proto == 3 else b"*14\r\n") + body


def test_resp3_bytes_for_hello_null_map_and_verbatim(server):
    with server.raw() as raw:
        client_id = raw.call("CLIENT", "ID")
        assert raw.wire("HELLO", "3") == _hello_map(client_id, 3)
        assert raw.wire("HELLO") == _hello_map(client_id, 3), "HELLO alone answers in the current protocol"
        assert raw.call("FLUSHALL") == "OK"
        assert raw.wire("GET", "missing") == b"_\r\n"
        assert raw.wire("SET", "k", "v") == b"+OK\r\n"
        assert raw.wire("SET", "k", "w", "NX") == b"_\r\n"
        assert raw.wire("GET", "k") == b"$1\r\nv\r\n"
        assert raw.wire("MGET", "k", "missing") == b"*2\r\n$1\r\nv\r\n_\r\n"
        assert raw.wire("RANDOMKEY") == b"$1\r\nk\r\n"
        assert raw.wire("CLIENT", "GETNAME") == b"_\r\n"
        assert raw.wire("COMMAND", "INFO", "no-such-command") == b"*1\r\n_\r\n"
        assert raw.wire("CONFIG", "GET", "timeout") == b"%1\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"
        assert raw.wire("CONFIG", "GET", "no-such-parameter") == b"%0\r\n"
        assert raw.wire("INCRBYFLOAT", "f", "1.5") == b"$3\r\n1.5\r\n", "a bulk string in Redis 7.0, not a double"
        assert raw.wire("TTL", "k") == b":-1\r\n"
        assert raw.wire("SCAN", "0").startswith(b"*2\r\n$1\r\n0\r\n*2\r\n"), "an array, as in RESP2"
        for command in (("INFO", "server"), ("CLIENT", "INFO"), ("CLIENT", "LIST")):
            reply = raw.wire(*command)
            header, _, rest = reply.partition(b"\r\n")
            assert header.startswith(b"=") and rest.startswith(b"txt:"), reply[:80]
            assert int(header[1:]) == len(rest) - 2 and rest.endswith(b"\r\n"), reply[:80]
        assert b"# Server\r\nredis_version:7.0.15\r\n" in raw.wire("INFO", "server")
        assert b" resp=3" in raw.wire("CLIENT", "INFO")


def test_hello_2_and_reset_switch_back_to_resp2(server):
    with server.raw() as raw:
        client_id = raw.call("CLIENT", "ID")
        raw.call("HELLO", "3")
        assert raw.wire("HELLO", "2") == _hello_map(client_id, 2)
        assert raw.wire("GET", "missing") == b"$-1\r\n"
        assert raw.wire("CONFIG", "GET", "timeout") == b"*2\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"
        assert raw.wire("INFO", "server").startswith(b"$")
        raw.call("HELLO", "3")
        assert raw.wire("RESET") == b"+RESET\r\n"
        assert raw.wire("GET", "missing") == b"$-1\r\n", "RESET returns to RESP2, as in Redis"


def test_hello_auth_and_setname_as_redis_7_with_its_default_user(server):
    wrong_pass = Err("WRONGPASS invalid username-password pair or user is disabled.")
    with server.raw() as raw:
        assert raw.call("HELLO", "3", "AUTH", "default", "anything")["proto"] == 3
        assert raw.call("HELLO", "2")
        assert raw.call("HELLO", "3", "AUTH", "nobody", "secret") == wrong_pass
        assert raw.wire("GET", "missing") == b"$-1\r\n", "a refused HELLO 3 leaves the connection in RESP2"
        assert raw.call("HELLO", "3", "AUTH", "default") == Err("ERR Syntax error in HELLO option 'AUTH'")
        assert raw.call("HELLO", "4") == Err("NOPROTO unsupported protocol version")
        assert raw.call("HELLO", "3", "SETNAME", "has space") == Err(
            "ERR Client names cannot contain spaces, newlines or special characters.")
        assert raw.call("HELLO", "3", "SETNAME", "resp3-client")["proto"] == 3
        assert raw.call("CLIENT", "GETNAME") == "resp3-client"
        assert raw.call("CLIENT", "SETNAME", "renamed") == "OK"
        assert raw.call("HELLO")["id"] == raw.call("CLIENT", "ID")
        assert raw.call("CLIENT", "GETNAME") == "renamed"
        # Redis 7.0 carries out each option as it reads it: the name stays, the protocol too.
        assert raw.call("HELLO", "2", "SETNAME", "named-first", "AUTH", "nobody", "x") == wrong_pass
        assert raw.call("CLIENT", "GETNAME") == "named-first"
        assert raw.wire("GET", "missing") == b"_\r\n"


def test_pipelined_replies_keep_the_protocol_of_their_command(server):
    with server.raw() as raw:
        raw.send(b"".join(
            encode(*words) for words in (("SET", "k", "v"), ("HELLO", "3"), ("GET", "missing"),
                                           ("HELLO", "2"), ("GET", "missing"))))
        replies = [raw.read_reply_raw()[1] for _ in range(5)]
        assert replies[0] == b"+OK\r\n"
        assert replies[1].startswith(b"%7\r\n") and replies[3].startswith(b"*14\r\n")
        assert replies[2] == b"_\r\n" and replies[4] == b"$-1\r\n"


def test_redis_cli_3(server):
    tool = shutil.which("redis-cli")
    if tool is None:
        pytest.fail("redis-cli not found: apt-get install -y redis-tools")

    def cli(*args: str) -> str:
        result = subprocess.run([tool, "-3", "-h", HOST, "-p", str(server.port), *args], capture_output=True,
                                timeout=30, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert cli("HELLO", "3").splitlines()[:3] == ["server redis", "version 7.0.15", "proto 3"]
    assert cli("SET", "cli3", "value") == "OK\n"
    assert cli("GET", "cli3") == "value\n"
    assert cli("--no-raw", "GET", "missing") == "(nil)\n"
    assert cli("--no-raw", "CONFIG", "GET", "timeout") == '1# "timeout" => "0"\n'
    assert cli("--no-raw", "INCRBYFLOAT", "cli3f", "2.5") == '"2.5"\n'
    assert "redis_version:7.0.15" in cli("INFO", "server")
    assert cli("--no-raw", "DEL", "cli3", "cli3f") == "(integer) 2\n"


def test_a_raw_client_can_stay_on_resp2(server):
    """Connections that never send HELLO 3 keep RESP2 (the default)."""
    with RawClient(HOST, server.port) as raw:
        assert raw.wire("GET", "missing") == b"$-1\r\n"
        assert raw.wire("CONFIG", "GET", "timeout") == b"*2\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"
