"""Hostile clients against the real ``understudy`` binary (docs/security.md, "Hostile input").

- Slowloris: many connections each sending one byte of a request every second. A normal
  client is still answered within ``ANSWER_DEADLINE_SECONDS``; ``--max-connections`` bounds
  how many the server holds (the next one is refused); with ``--idle-timeout`` they are
  closed, because an unfinished request is not activity.
- Half-open: a client that connects, sends part of a request and vanishes without a FIN is
  closed by ``--idle-timeout`` and its slot freed; without the timeout, TCP keepalive finds
  it (the server sets SO_KEEPALIVE on every client socket, checked in /proc/net/tcp).
- Huge pipeline: a client that sends 100 MB of pipelined GETs and never reads is cut off
  by ``--client-output-buffer-limit``; the server's RSS (from /proc) stays bounded and
  another client is answered throughout.

Loops are bounded in count and time. The one pause is the slowloris pacing itself (one
byte a second is the attack), never a wait for the server: that is polled with deadlines.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from harness import HOST, wait_until
from resp import Err, encode

pytestmark = pytest.mark.understudy_only

ANSWER_DEADLINE_SECONDS = 1.0
SLOW_CONNECTIONS = 40
SLOW_ROUNDS = 5
PIPELINE_BYTES = 100 << 20
OUTPUT_LIMIT = "1MB"
#: What the server may grow by while a 100 MB pipeline is thrown at it.
RSS_GROWTH_LIMIT_BYTES = 128 << 20
#: /proc/net/tcp's timer field for a socket whose keepalive timer is armed.
KEEPALIVE_TIMER = 2


def stat(client, section: str, field: str) -> int:
    """One INFO field read on an existing connection (a new one could be refused)."""
    text = client.call("INFO", section)
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    raise AssertionError(f"INFO {section} has no {field}: {text}")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def timed_call(client, *args):
    started = time.monotonic()
    reply = client.call(*args)
    elapsed = time.monotonic() - started
    assert elapsed < ANSWER_DEADLINE_SECONDS, f"{args[0]} took {elapsed:.3f}s"
    return reply


def open_slow_connections(port: int, count: int) -> list[socket.socket]:
    connections = []
    for _ in range(count):
        connection = socket.create_connection((HOST, port), timeout=5.0)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connections.append(connection)
    return connections


def closed_by_peer(connection: socket.socket) -> bool:
    """True if the server closed it (EOF or reset); never blocks."""
    connection.setblocking(False)
    try:
        return connection.recv(4096) == b""
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        connection.setblocking(True)


def close_all(connections: list[socket.socket]) -> None:
    for connection in connections:
        connection.close()


def test_slowloris_neither_stalls_a_normal_client_nor_passes_max_connections(make_server):
    process = make_server(max_connections=SLOW_CONNECTIONS + 1)
    slow_request = encode("SET", "slowloris", "v" * 32)
    with process.raw(timeout=5.0) as normal:
        assert normal.call("PING") == "PONG"
        slow = open_slow_connections(process.port, SLOW_CONNECTIONS)
        try:
            wait_until(lambda: stat(normal, "clients", "connected_clients") == SLOW_CONNECTIONS + 1, 10.0,
                       message="every slow connection was accepted")
            with process.raw(timeout=5.0) as one_too_many:
                reply = one_too_many.read_reply()
                assert isinstance(reply, Err) and reply.message == "ERR max number of clients reached", reply
                assert one_too_many.is_closed_by_peer(5.0)
            for round_index in range(SLOW_ROUNDS):
                round_started = time.monotonic()
                for connection in slow:
                    connection.sendall(slow_request[round_index:round_index + 1])
                for index in range(20):
                    assert timed_call(normal, "SET", f"normal:{index}", round_index) == "OK"
                    assert timed_call(normal, "GET", f"normal:{index}") == str(round_index)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - round_started)))  # the attack's pace
            assert timed_call(normal, "EXISTS", "slowloris") == 0, "no slow request was ever complete"
            assert not any(closed_by_peer(connection) for connection in slow), "without --idle-timeout they stay"
        finally:
            close_all(slow)
    assert process.alive, process.log_tail()


def test_slowloris_connections_are_closed_by_idle_timeout(make_server):
    process = make_server(idle_timeout="1s")
    slow_request = encode("SET", "slowloris", "v" * 200)
    with process.raw(timeout=5.0) as normal:
        slow = open_slow_connections(process.port, SLOW_CONNECTIONS)
        opened = time.monotonic()
        try:
            open_ones = set(range(SLOW_CONNECTIONS))
            deadline = opened + 8.0
            step = 0
            while open_ones and time.monotonic() < deadline:
                for index in sorted(open_ones):
                    try:
                        slow[index].sendall(slow_request[step:step + 1])
                    except (BrokenPipeError, ConnectionResetError):
                        open_ones.discard(index)
                        continue
                    if closed_by_peer(slow[index]):
                        open_ones.discard(index)
                assert timed_call(normal, "PING") == "PONG"  # the normal client keeps itself active
                step += 1
                time.sleep(0.25)  # a byte every quarter second per connection: still never a request
            elapsed = time.monotonic() - opened
            assert not open_ones, f"{len(open_ones)} slow connections still open after {elapsed:.1f}s"
            assert elapsed >= 0.9, f"closed after {elapsed:.2f}s, before the 1s idle timeout"
            assert stat(normal, "stats", "idle_timeout_disconnections") == SLOW_CONNECTIONS
        finally:
            close_all(slow)


def tcp_timer(local_port: int, remote_port: int) -> int | None:
    """The timer field of the IPv4 socket from local_port to remote_port in /proc/net/tcp."""
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == remote_port:
                return int(fields[5].split(":")[0], 16)
    return None


def test_half_open_client_is_closed_by_idle_timeout_and_has_keepalive(make_server):
    process = make_server(idle_timeout="1s", max_connections=2)
    vanished = socket.create_connection((HOST, process.port), timeout=5.0)
    try:
        vanished.sendall(b"*2\r\n$3\r\nGET\r\n$")  # then nothing: no more bytes, no FIN, no reads
        client_port = vanished.getsockname()[1]
        wait_until(lambda: tcp_timer(process.port, client_port) == KEEPALIVE_TIMER, 5.0,
                   message="the server's socket for the client has its keepalive timer armed")
        assert tcp_timer(client_port, process.port) == 0, "the test's own socket has no keepalive: the check can tell"
        started = time.monotonic()
        wait_until(lambda: closed_by_peer(vanished), 5.0, message="the half-open connection was closed")
        assert time.monotonic() - started < 4.0
        # its slot is free again: max-connections 2 admits two clients
        with process.raw(timeout=5.0) as first, process.raw(timeout=5.0) as second:
            assert first.call("PING") == "PONG"
            assert second.call("PING") == "PONG"
            assert stat(first, "stats", "idle_timeout_disconnections") == 1
    finally:
        vanished.close()


def test_huge_pipeline_without_reading_is_cut_off_and_memory_stays_bounded(make_server):
    process = make_server(client_output_buffer_limit=OUTPUT_LIMIT, max_bulk_bytes=65536)
    pid = process.process.pid
    with process.raw(timeout=5.0) as setup:
        assert setup.call("SET", "small", "v" * 64) == "OK"
    baseline = rss_bytes(pid)
    peak = [baseline]
    flooding = threading.Event()
    flooding.set()

    def sample_rss() -> None:
        deadline = time.monotonic() + 120.0
        while flooding.is_set() and time.monotonic() < deadline:
            peak[0] = max(peak[0], rss_bytes(pid))
            time.sleep(0.02)  # sampling interval, not a wait for the server

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    chunk = encode("GET", "small") * ((1 << 20) // len(encode("GET", "small")))
    flood = socket.create_connection((HOST, process.port), timeout=10.0)
    sent = 0
    cut_off = False
    try:
        with process.raw(timeout=5.0) as other:
            while sent < PIPELINE_BYTES:
                try:
                    flood.sendall(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    cut_off = True
                    break
                except socket.timeout:
                    break  # the server stopped reading it: backpressure, checked below
                sent += len(chunk)
                assert timed_call(other, "GET", "small") == "v" * 64
            wait_until(lambda: stat(other, "stats", "client_output_buffer_limit_disconnections") == 1, 10.0,
                       message="the never-reading client was cut off by --client-output-buffer-limit")
            assert cut_off or closed_by_peer(flood) or wait_until(lambda: closed_by_peer(flood), 10.0)
            assert timed_call(other, "GET", "small") == "v" * 64
    finally:
        flooding.clear()
        sampler.join(timeout=5.0)
        flood.close()
    growth = peak[0] - baseline
    assert growth < RSS_GROWTH_LIMIT_BYTES, f"RSS grew by {growth >> 20} MiB after {sent >> 20} MiB of pipeline"
    assert process.alive, process.log_tail()
