"""Durability across a clean restart: SIGTERM exits 0 within a deadline; a restart on the same
data directory has every key with its value and TTL; keys whose expiry passed while the server
was down are gone.

These also run against redis-server (``appendonly yes`` with the same fsync policy), which
checks the tests themselves.
"""

from __future__ import annotations

import signal
import time

import pytest

from harness import iter_chunks, wait_until

pytestmark = pytest.mark.slow


def _write_workload(client) -> dict:
    """Write a mixed workload; return what must be there after a restart."""
    expected: dict[str, str] = {}
    pipe = client.pipeline(transaction=False)
    for i in range(2000):
        pipe.set(f"plain:{i}", f"value-{i}-" + "x" * (i % 50))
        expected[f"plain:{i}"] = f"value-{i}-" + "x" * (i % 50)
    for i in range(200):
        pipe.set(f"ttl:{i}", f"t{i}", ex=1000 + i)
        expected[f"ttl:{i}"] = f"t{i}"
    for i in range(100):
        pipe.set(f"short:{i}", "gone-soon", px=400)
    pipe.execute()
    for _ in range(250):
        client.incr("counter")
    expected["counter"] = "250"
    client.incrbyfloat("float", "10.5")
    client.incrbyfloat("float", "0.1")
    expected["float"] = "10.6"
    client.append("appended", "Hello")
    client.append("appended", " World")
    expected["appended"] = "Hello World"
    client.setrange("ranged", 3, "abc")
    expected["ranged"] = "\x00\x00\x00abc"
    client.delete("plain:0", "plain:1")
    del expected["plain:0"], expected["plain:1"]
    client.rename("plain:2", "renamed")
    expected["renamed"] = expected.pop("plain:2")
    client.set("persisted", "p", ex=100)
    client.persist("persisted")
    expected["persisted"] = "p"
    client.set("deleted-by-expire", "d")
    client.expire("deleted-by-expire", -1)
    client.set("bin", "zero\x00byte\r\n")
    expected["bin"] = "zero\x00byte\r\n"
    return expected


def _check(client, expected: dict, ttl_before: dict) -> None:
    keys = sorted(expected)
    for batch in iter_chunks(keys, 500):
        values = client.mget(batch)
        wrong = [(key, value, expected[key]) for key, value in zip(batch, values) if value != expected[key]]
        assert not wrong, f"{len(wrong)} keys wrong after restart, first: {wrong[:5]}"
    for key, expire_at_ms in ttl_before.items():
        assert client.pexpiretime(key) == expire_at_ms, key
    for key in ("persisted", "counter", "plain:3"):
        assert client.ttl(key) == -1
    for i in range(100):
        assert client.get(f"short:{i}") is None
        assert client.exists(f"short:{i}") == 0
    assert client.exists("deleted-by-expire", "plain:0", "plain:2") == 0
    assert not client.keys("short:*")
    wait_until(lambda: client.dbsize() == len(expected), 10.0, 0.05, f"DBSIZE becomes {len(expected)}")


@pytest.mark.parametrize("fsync", ["always", "everysec", "no"])
def test_sigterm_restart_keeps_everything(make_server, fsync):
    process = make_server(fsync=fsync)
    client = process.client()
    started_at_ms = int(time.time() * 1000)
    expected = _write_workload(client)
    ttl_before = {f"ttl:{i}": client.pexpiretime(f"ttl:{i}") for i in range(0, 200, 7)}
    client.close()

    started = time.monotonic()
    assert process.stop(timeout=15.0) == 0, process.log_tail()
    print(f"SIGTERM to exit: {time.monotonic() - started:.3f}s")
    short_deadline = started_at_ms / 1000 + 2.0  # every short key has expired by then
    wait_until(lambda: time.time() > short_deadline, 10.0, 0.05, "short TTLs pass while the server is down")

    process.start()
    client = process.client()
    try:
        _check(client, expected, ttl_before)
        # and it still takes writes
        assert client.set("after-restart", "ok")
    finally:
        client.close()
    assert process.stop() == 0


def test_sigint_exits_zero_and_keeps_data(make_server):
    process = make_server(fsync="everysec")
    with process.raw() as client:
        assert client.call("SET", "k", "v") == "OK"
    process.process.send_signal(signal.SIGINT)
    assert process.process.wait(timeout=15.0) == 0, process.log_tail()
    process.start()
    with process.raw() as client:
        assert client.call("GET", "k") == "v"


def test_flushall_and_overwrites_survive_restart(make_server):
    process = make_server(fsync="always")
    with process.raw() as client:
        for i in range(100):
            client.call("SET", f"old:{i}", "v")
        assert client.call("FLUSHALL") == "OK"
        client.call("SET", "k", "first")
        client.call("SET", "k", "second")
        client.call("SET", "gone", "x")
        client.call("GETDEL", "gone")
    assert process.stop() == 0
    process.start()
    with process.raw() as client:
        assert client.call("DBSIZE") == 1
        assert client.call("GET", "k") == "second"


def test_sigterm_with_idle_and_busy_connections(make_server):
    """Open connections (one mid-request) must not keep the server from exiting promptly."""
    process = make_server(fsync="always")
    idle = process.raw()
    partial = process.raw()
    try:
        partial.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel")
        assert idle.call("SET", "stable", "v") == "OK"
        started = time.monotonic()
        assert process.stop(timeout=15.0) == 0, process.log_tail()
        assert time.monotonic() - started < 10.0
    finally:
        idle.close()
        partial.close()
    process.start()
    with process.raw() as client:
        assert client.call("GET", "stable") == "v"
        assert client.call("EXISTS", "k") == 0
