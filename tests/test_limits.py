"""Limits and bad input: a request exactly at each limit succeeds; limit + 1 gets an
``ERR Protocol error ...`` (or ``ERR max number of clients reached``) and that connection is
closed; the server stays up and the stored data is unchanged. Garbage never crashes it.

Understudy runs with small limits. Where Redis has the same limit the test also runs against
redis-server (bulk length: Redis's minimum ``proto-max-bulk-len`` is 1 MiB; connections:
``maxclients``), which checks the test itself.

Definitions the server must follow:
- ``--max-bulk-bytes N``: a bulk string of N bytes is accepted, N + 1 is refused as soon as
  its ``$`` header arrives.
- ``--max-arguments N``: a request of N elements (command name included) is accepted,
  ``*N+1`` is refused as soon as its header arrives.
- ``--max-request-bytes N``: the encoded size of one request, from ``*`` through its last
  CRLF, may be N bytes; N + 1 is refused. It is per request, not per read: a pipeline of
  many requests of N bytes each is fine.
- ``--max-connections N``: N clients are served; the next one gets
  ``-ERR max number of clients reached`` and is closed.
"""

from __future__ import annotations

import random

import pytest

from harness import wait_until
from resp import Err, encode

SMALL_LIMITS = {"max_bulk_bytes": 1024, "max_arguments": 16, "max_connections": 4, "max_request_bytes": 65536}
REDIS_LIMITS = {"max_bulk_bytes": 1024 * 1024, "max_connections": 4}
SENTINEL = {"sentinel:a": "alpha", "sentinel:b": "beta" * 100}


@pytest.fixture
def limited(make_server, target):
    limits = SMALL_LIMITS if target == "understudy" else REDIS_LIMITS
    process = make_server(**limits)
    process.limits = limits
    with process.raw() as client:
        for key, value in SENTINEL.items():
            assert client.call("SET", key, value) == "OK"
    return process


def assert_intact(process) -> None:
    """The server still answers on a new connection and the stored data is unchanged."""
    assert process.alive, process.log_tail()
    with process.raw() as client:
        assert client.call("PING") == "PONG"
        assert client.call("MGET", *SENTINEL) == list(SENTINEL.values())
        assert client.call("EXISTS", "victim") == 0


def assert_protocol_error_and_closed(client) -> None:
    reply = client.read_reply()
    assert isinstance(reply, Err) and reply.message.startswith("ERR Protocol error"), reply
    assert client.is_closed_by_peer(5.0), "server kept the connection open after a protocol error"


def test_bulk_exactly_at_limit_is_accepted(limited):
    size = limited.limits["max_bulk_bytes"]
    with limited.raw() as client:
        assert client.call("SET", "at-limit", "x" * size) == "OK"
        assert client.call("STRLEN", "at-limit") == size
    assert_intact(limited)


def test_bulk_over_limit_is_refused_at_its_header(limited):
    size = limited.limits["max_bulk_bytes"] + 1
    with limited.raw() as client:
        client.send(b"*3\r\n$3\r\nSET\r\n$6\r\nvictim\r\n$%d\r\n" % size)
        assert_protocol_error_and_closed(client)
    assert_intact(limited)


def test_bulk_over_limit_sent_whole_is_refused(limited):
    size = limited.limits["max_bulk_bytes"] + 1
    with limited.raw() as client:
        try:
            client.send(encode("SET", "victim", "y" * size))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before the body is sent
        assert_protocol_error_and_closed(client)
    assert_intact(limited)


@pytest.mark.understudy_only  # Redis's only argument limit is INT_MAX
def test_arguments_exactly_at_limit_are_accepted(limited):
    count = limited.limits["max_arguments"]
    with limited.raw() as client:
        client.send(b"*%d\r\n$6\r\nEXISTS\r\n" % count + b"$1\r\nk\r\n" * (count - 1))
        assert client.read_reply() == 0
        assert client.call("PING") == "PONG"
    assert_intact(limited)


@pytest.mark.understudy_only
def test_arguments_over_limit_are_refused(limited):
    count = limited.limits["max_arguments"] + 1
    with limited.raw() as client:
        client.send(b"*%d\r\n" % count)
        assert_protocol_error_and_closed(client)
    assert_intact(limited)


def test_connections_at_limit_and_one_more(limited):
    limit = limited.limits["max_connections"]
    clients = [limited.raw()]
    try:
        # the start-up probe's connection must be gone before counting ours
        wait_until(
            lambda: "connected_clients:1\r\n" in clients[0].call("INFO", "clients"), 10.0,
            message="only our first client is connected",
        )
        for _ in range(limit - 1):
            clients.append(limited.raw())
        for index, client in enumerate(clients):
            assert client.call("PING") == "PONG", f"client {index + 1} of {limit}"
        extra = limited.raw()
        try:
            assert extra.read_reply() == Err("ERR max number of clients reached")
            assert extra.is_closed_by_peer(5.0)
        finally:
            extra.close()
        # the admitted clients are unaffected
        assert all(client.call("PING") == "PONG" for client in clients)
        clients.pop().close()

        def new_client_is_served() -> bool:
            with limited.raw(timeout=2.0) as client:
                return client.call("PING") == "PONG"

        wait_until(new_client_is_served, 10.0, 0.05, "a freed slot is reused")
        assert clients[0].call("MGET", *SENTINEL) == list(SENTINEL.values())
    finally:
        for client in clients:
            client.close()
    assert limited.alive


def _request_of_exact_size(total: int, key: str = "sized") -> bytes:
    for value_length in range(total, 0, -1):
        request = encode("SET", key, "v" * value_length)
        if len(request) == total:
            return request
    raise AssertionError(f"cannot build a request of {total} bytes")


@pytest.fixture
def request_limited(make_server):
    process = make_server(max_request_bytes=4096, max_bulk_bytes=1 << 20)
    with process.raw() as client:
        for key, value in SENTINEL.items():
            client.call("SET", key, value)
    return process


@pytest.mark.understudy_only
def test_request_bytes_exactly_at_limit_are_accepted(request_limited):
    request = _request_of_exact_size(4096)
    with request_limited.raw() as client:
        client.send(request)
        assert client.read_reply() == "OK"
        client.send(request * 10)  # per request, not per read
        assert [client.read_reply() for _ in range(10)] == ["OK"] * 10
        assert client.call("STRLEN", "sized") > 4000
    assert_intact(request_limited)


@pytest.mark.understudy_only
def test_request_bytes_over_limit_are_refused(request_limited):
    with request_limited.raw() as client:
        client.send(_request_of_exact_size(4097, key="victim"))
        assert_protocol_error_and_closed(client)
    assert_intact(request_limited)


@pytest.mark.understudy_only
def test_request_bytes_over_limit_through_many_small_arguments(request_limited):
    arguments = ["DEL"] + [f"victim{i:04d}" for i in range(400)]  # ~6.4 KB of small bulks
    with request_limited.raw() as client:
        client.send(encode(*arguments))
        assert_protocol_error_and_closed(client)
    assert_intact(request_limited)


@pytest.mark.parametrize(
    "garbage",
    [
        b"*abc\r\n",
        b"*1\r\n$abc\r\n",
        b"*1\r\nfoo\r\n",
        b"*2\r\n$3\r\nGET\r\n:12\r\n",
        b"*1\r\n$-5\r\n",
        b"*99999999999999999999\r\n",
        b"*3\r\n$3\r\nSET\r\n$99999999999999999999\r\n",
    ],
)
def test_malformed_requests_get_protocol_error(limited, garbage):
    with limited.raw() as client:
        client.send(garbage)
        assert_protocol_error_and_closed(client)
    assert_intact(limited)


def test_random_garbage_never_crashes(limited):
    seed = random.randrange(1 << 30)
    print(f"garbage seed: {seed}")
    rng = random.Random(seed)
    prefixes = [b"", b"*", b"*1\r\n$", b"*2\r\n$3\r\nSET\r\n", b"\r\n", b"$"]
    for round_index in range(20):
        blob = rng.choice(prefixes) + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        with limited.raw(timeout=2.0) as client:
            try:
                client.send(blob + b"\r\n")
                closed = client.is_closed_by_peer(0.2)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            if client.buffer:
                assert client.buffer.startswith(b"-"), (seed, round_index, blob, client.buffer[:200])
        assert limited.alive, f"seed {seed}, round {round_index}: server died on {blob!r}\n{limited.log_tail()}"
    assert_intact(limited)
