"""Connection and server commands (PING, ECHO, INFO, CONFIG GET, CLIENT, COMMAND, HELLO, QUIT,
SELECT), error texts for wrong arity and unknown commands, and pipelining."""

from __future__ import annotations

import re

import pytest
import redis

from harness import HOST
from resp import Err, RawClient, encode


def arity(name: str) -> Err:
    return Err(f"ERR wrong number of arguments for '{name}' command")


def test_ping_echo(raw):
    assert raw.wire("PING") == b"+PONG\r\n"
    assert raw.wire("PING", "hello") == b"$5\r\nhello\r\n"
    assert raw.wire("ECHO", "a\r\nb") == b"$4\r\na\r\nb\r\n"
    assert raw.wire("ECHO", "") == b"$0\r\n\r\n"
    assert raw.call("PING", "a", "b") == arity("ping")
    assert raw.call("ECHO") == arity("echo")
    assert raw.call("ECHO", "a", "b") == arity("echo")


def test_commands_are_case_insensitive(raw):
    assert raw.call("ping") == "PONG"
    assert raw.call("pInG") == "PONG"
    assert raw.call("set", "K", "v") == "OK"
    assert raw.call("get", "k") is None  # keys are case-sensitive
    assert raw.call("GeT", "K") == "v"


@pytest.mark.parametrize(
    "command",
    [
        ["GET"], ["GET", "a", "b"], ["SET", "k"], ["SETNX", "k"], ["SETEX", "k", "10"], ["PSETEX", "k", "10"],
        ["GETSET", "k"], ["GETEX"], ["GETDEL"], ["GETDEL", "a", "b"], ["MGET"], ["MSET"], ["MSET", "k"],
        ["MSETNX"], ["INCR"], ["INCRBY", "k"], ["INCRBYFLOAT", "k"], ["DECR"], ["DECRBY", "k"],
        ["APPEND", "k"], ["STRLEN"], ["SETRANGE", "k", "0"], ["GETRANGE", "k", "0"], ["SUBSTR", "k", "0"],
        ["DEL"], ["UNLINK"], ["EXISTS"], ["TYPE"], ["RENAME", "k"], ["RENAMENX", "k"], ["RANDOMKEY", "x"],
        ["KEYS"], ["SCAN"], ["DBSIZE", "x"], ["EXPIRE", "k"], ["PEXPIRE", "k"], ["EXPIREAT", "k"],
        ["PEXPIREAT", "k"], ["TTL"], ["PTTL"], ["EXPIRETIME"], ["PEXPIRETIME"], ["PERSIST"], ["ECHO"],
        ["SELECT"], ["CONFIG"], ["CLIENT"],
    ],
)
def test_wrong_arity(raw, command):
    assert raw.call(*command) == arity(command[0].lower())
    assert raw.call("PING") == "PONG"


def test_wrong_arity_of_subcommands(raw):
    assert raw.call("CONFIG", "GET") == arity("config|get")
    assert raw.call("CLIENT", "SETNAME") == arity("client|setname")
    assert raw.call("CLIENT", "GETNAME", "x") == arity("client|getname")


def test_unknown_command(raw):
    assert raw.call("FOO", "a", "b") == Err("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
    assert raw.call("nosuchcmd") == Err("ERR unknown command 'nosuchcmd', with args beginning with: ")
    assert raw.call("PING") == "PONG"


def test_unknown_subcommand(raw):
    assert raw.call("CLIENT", "BOGUS") == Err("ERR unknown subcommand 'BOGUS'. Try CLIENT HELP.")
    assert raw.call("CONFIG", "BOGUS") == Err("ERR unknown subcommand 'BOGUS'. Try CONFIG HELP.")


def test_select(raw, is_understudy):
    assert raw.call("SELECT", "0") == "OK"
    assert raw.call("SELECT", "abc") == Err("ERR value is not an integer or out of range")
    raw.call("SET", "k", "db0")
    if is_understudy:
        # Understudy has only database 0: any other index is a clear error, and the
        # connection stays on database 0.
        reply = raw.call("SELECT", "1")
        assert isinstance(reply, Err) and reply.message.startswith("ERR"), reply
        assert raw.call("GET", "k") == "db0"
        reply = raw.call("SELECT", "16")
        assert isinstance(reply, Err) and reply.message.startswith("ERR"), reply
    else:
        assert raw.call("SELECT", "16") == Err("ERR DB index is out of range")
        assert raw.call("SELECT", "-1") == Err("ERR DB index is out of range")
        assert raw.call("SELECT", "1") == "OK"
        assert raw.call("GET", "k") is None
        assert raw.call("SELECT", "0") == "OK"
    assert raw.call("GET", "k") == "db0"


def test_hello_2(raw):
    reply = raw.call("HELLO", "2")
    assert isinstance(reply, list) and len(reply) % 2 == 0
    fields = dict(zip(reply[::2], reply[1::2]))
    assert fields["proto"] == 2
    assert isinstance(fields["server"], str) and isinstance(fields["version"], str)
    assert "version" in fields
    assert "id" in fields
    reply = raw.call("HELLO")
    assert dict(zip(reply[::2], reply[1::2]))["proto"] == 2
    assert raw.call("HELLO", "4") == Err("NOPROTO unsupported protocol version")
    assert raw.call("HELLO", "abc") == Err("ERR Protocol version is not an integer or out of range")
    assert raw.call("PING") == "PONG"


def test_hello_3(raw):
    reply = raw.call("HELLO", "3")
    assert isinstance(reply, dict) and reply["proto"] == 3, reply
    assert raw.wire("GET", "missing") == b"_\r\n"
    assert raw.call("HELLO", "2")  # back to RESP2 for the next tests
    assert raw.wire("GET", "missing") == b"$-1\r\n"


def test_redis_py_default_protocol(server):
    """redis-py >= 8 opens with HELLO 3 (RESP3) and gets it (tests/test_resp3.py has more)."""
    client = redis.Redis(host=HOST, port=server.port, decode_responses=True, socket_timeout=10)
    try:
        assert client.ping() is True
        assert client.execute_command("HELLO")["proto"] == 3
    finally:
        client.close()


def test_quit(server):
    with server.raw() as client:
        assert client.wire("QUIT") == b"+OK\r\n"
        assert client.is_closed_by_peer(5.0)


def test_client_commands(raw, target):
    client_id = raw.call("CLIENT", "ID")
    assert isinstance(client_id, int) and client_id > 0
    with RawClient(HOST, raw.sock.getpeername()[1]) as other:
        assert other.call("CLIENT", "ID") > client_id
    assert raw.wire("CLIENT", "GETNAME") == b"$-1\r\n"
    assert raw.call("CLIENT", "SETNAME", "worker-1") == "OK"
    assert raw.call("CLIENT", "GETNAME") == "worker-1"
    assert raw.call("CLIENT", "SETNAME", "bad name") == Err(
        "ERR Client names cannot contain spaces, newlines or special characters."
    )
    assert raw.call("CLIENT", "GETNAME") == "worker-1"
    assert raw.call("CLIENT", "SETNAME", "") == "OK"
    assert raw.call("CLIENT", "GETNAME") is None


def test_client_setinfo(raw, target):
    reply = raw.call("CLIENT", "SETINFO", "LIB-NAME", "redis-py")
    if target == "redis":
        # CLIENT SETINFO arrived in Redis 7.2; Debian's 7.0.15 does not know it.
        assert reply == Err("ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.")
    else:
        # Understudy follows Redis 7.2 here: redis-py sends it on every connect.
        assert reply == "OK"
        assert raw.call("CLIENT", "SETINFO", "LIB-VER", "8.1.0") == "OK"
        assert raw.call("CLIENT", "SETINFO", "BOGUS", "x") == Err("ERR Unrecognized option 'BOGUS'")


def test_command_count_and_docs(raw):
    count = raw.call("COMMAND", "COUNT")
    assert isinstance(count, int) and count >= 40
    docs = raw.call("COMMAND", "DOCS", "GET")
    assert isinstance(docs, list)
    if docs:
        assert docs[0] == "get"
    assert isinstance(raw.call("COMMAND", "DOCS"), list)


def test_config_get(raw):
    save = raw.call("CONFIG", "GET", "save")
    assert isinstance(save, list) and len(save) == 2 and save[0] == "save"
    appendonly = raw.call("CONFIG", "GET", "appendonly")
    assert len(appendonly) == 2 and appendonly[0] == "appendonly" and appendonly[1] in ("yes", "no")
    assert raw.call("CONFIG", "GET", "no-such-parameter") == []


def _parse_info(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = None
    assert "\r\n" in text
    for line in text.split("\r\n"):
        if line.startswith("# "):
            current = line[2:].strip().lower()
            sections[current] = {}
        elif line:
            key, _, value = line.partition(":")
            assert current is not None and _ == ":", line
            sections[current][key] = value
    return sections


def test_info_sections(raw):
    raw.call("SET", "a", "1")
    raw.call("SET", "b", "2", "EX", "100")
    sections = _parse_info(raw.call("INFO"))
    for name in ("server", "clients", "persistence", "stats", "keyspace"):
        assert name in sections, sections.keys()
    assert re.fullmatch(r"\d+\.\d+\.\d+", sections["server"]["redis_version"])
    assert int(sections["server"]["tcp_port"]) == raw.sock.getpeername()[1]
    assert int(sections["server"]["uptime_in_seconds"]) >= 0
    assert int(sections["clients"]["connected_clients"]) >= 1
    assert sections["persistence"]["loading"] == "0"
    assert int(sections["stats"]["total_connections_received"]) >= 1
    assert int(sections["stats"]["total_commands_processed"]) >= 2
    assert re.fullmatch(r"keys=2,expires=1,avg_ttl=\d+", sections["keyspace"]["db0"])


def test_info_single_section(raw):
    sections = _parse_info(raw.call("INFO", "keyspace"))
    assert list(sections) == ["keyspace"]
    assert sections["keyspace"] == {}
    sections = _parse_info(raw.call("INFO", "server"))
    assert list(sections) == ["server"]


def test_redis_py_info(r):
    r.set("k", "v")
    info = r.info()
    assert info["connected_clients"] >= 1
    assert info["db0"]["keys"] == 1
    assert r.info("keyspace")["db0"]["expires"] == 0


def test_pipeline_1000_commands_redis_py(r):
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        if i % 3 == 0:
            pipe.set(f"p:{i}", i)
        elif i % 3 == 1:
            pipe.incr("p:counter")
        else:
            pipe.get(f"p:{i - 2}")
    replies = pipe.execute()
    assert len(replies) == 1000
    for i, reply in enumerate(replies):
        if i % 3 == 0:
            assert reply is True
        elif i % 3 == 1:
            assert reply == i // 3 + 1
        else:
            assert reply == str(i - 2)
    assert r.get("p:counter") == "333"


def test_pipeline_raw_in_one_write_with_error_in_the_middle(raw):
    commands = []
    for i in range(1000):
        commands.append(encode("SET", f"q:{i}", i) if i != 500 else encode("NOSUCH"))
    raw.send(b"".join(commands) + encode("DBSIZE"))
    replies = [raw.read_reply() for _ in range(1001)]
    assert replies[500] == Err("ERR unknown command 'NOSUCH', with args beginning with: ")
    assert all(reply == "OK" for index, reply in enumerate(replies[:1000]) if index != 500)
    assert replies[1000] == 999


def test_request_split_into_single_bytes(server):
    with server.raw() as client:
        for byte in encode("SET", "split", "value"):
            client.send(bytes([byte]))
        assert client.read_reply() == "OK"
        assert client.call("GET", "split") == "value"


def test_large_value_roundtrip(rb):
    value = bytes(range(256)) * 4096  # 1 MiB
    assert rb.set("big", value)
    assert rb.get("big") == value


def test_many_connections(server):
    clients = [server.raw() for _ in range(50)]
    try:
        for index, client in enumerate(clients):
            assert client.call("SET", f"conn:{index}", index) == "OK"
        for index, client in enumerate(clients):
            assert client.call("GET", f"conn:{(index + 1) % 50}") == str((index + 1) % 50)
    finally:
        for client in clients:
            client.close()
