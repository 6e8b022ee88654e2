"""Unit tests of tests/faultproxy.py against a tiny in-process echo server (no understudy).

"Nothing arrives" is checked over a short bounded window (``NOTHING_WINDOW_SECONDS``): a
dropped byte must not show up within it, while a forwarded one arrives in well under a
millisecond on loopback. Everything else polls with a deadline.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from faultproxy import FaultProxy
from harness import HOST, wait_until

NOTHING_WINDOW_SECONDS = 0.2
IO_TIMEOUT_SECONDS = 5.0


class EchoServer:
    """Echoes every byte back; records what each connection received and can push bytes to a
    connection unasked (to test the direction towards the client on its own)."""

    def __init__(self, echo: bool = True):
        self.echo = echo
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.received: list[bytearray] = []
        self.ended: list[threading.Event] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                index = len(self.connections)
                self.connections.append(connection)
                self.received.append(bytearray())
                self.ended.append(threading.Event())
            thread = threading.Thread(target=self._serve, args=(index, connection), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, index: int, connection: socket.socket) -> None:
        try:
            while True:
                data = connection.recv(65536)
                if not data:
                    break
                self.received[index] += data
                if self.echo:
                    connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)  # pass the client's half-close back
        except OSError:
            pass
        finally:
            self.ended[index].set()

    @property
    def accepted(self) -> int:
        with self._lock:
            return len(self.connections)

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.close()
            except OSError:
                pass


@pytest.fixture
def echo():
    server = EchoServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def proxy(echo):
    with FaultProxy(target=(HOST, echo.port)) as running:
        yield running
        assert running.errors == [], f"proxy internal errors: {running.errors[:3]}"


def connect(proxy: FaultProxy) -> socket.socket:
    sock = socket.create_connection((HOST, proxy.port), timeout=IO_TIMEOUT_SECONDS)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def receive_exactly(sock: socket.socket, count: int) -> bytes:
    data = bytearray()
    deadline = time.monotonic() + IO_TIMEOUT_SECONDS
    while len(data) < count:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise AssertionError(f"EOF after {len(data)} of {count} bytes")
        data += chunk
    return bytes(data)


def receives_nothing(sock: socket.socket, seconds: float = NOTHING_WINDOW_SECONDS) -> bool:
    """True if neither a byte nor EOF/reset arrives within ``seconds``."""
    sock.settimeout(seconds)
    try:
        sock.recv(1)
    except socket.timeout:
        return True
    except OSError:
        return False
    return False


def is_closed(sock: socket.socket, timeout: float = IO_TIMEOUT_SECONDS) -> bool:
    """True once the connection reads EOF or a reset (any bytes before that are skipped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


def round_trip(sock: socket.socket, payload: bytes) -> bytes:
    sender = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
    sender.start()
    echoed = receive_exactly(sock, len(payload))
    sender.join(IO_TIMEOUT_SECONDS)
    return echoed


def server_index_of_newest(echo: EchoServer, before: int) -> int:
    wait_until(lambda: echo.accepted > before, IO_TIMEOUT_SECONDS, 0.005, "the echo server accepts the connection")
    return echo.accepted - 1


# -- forwarding ---------------------------------------------------------------------------

def test_forwards_both_ways_over_many_concurrent_connections(echo, proxy):
    connections = 48
    # sizes from a few bytes to several times the proxy's per-direction buffer
    payloads = [os.urandom(7 + (index * 37_003) % 900_000) for index in range(connections)]

    def one(index: int) -> bool:
        with connect(proxy) as sock:
            return round_trip(sock, payloads[index]) == payloads[index]

    with ThreadPoolExecutor(max_workers=connections) as pool:
        results = list(pool.map(one, range(connections)))
    assert all(results), f"{results.count(False)} of {connections} connections got back something else"
    stats = proxy.stats()
    total = sum(len(payload) for payload in payloads)
    assert stats["accepted"] == connections
    assert stats["forwarded_to_target"] == total and stats["forwarded_from_target"] == total, stats
    assert stats["dropped_to_target"] == stats["dropped_from_target"] == 0, stats
    wait_until(lambda: proxy.stats()["open"] == 0, IO_TIMEOUT_SECONDS, 0.005, "closed connections are released")


def test_half_close_and_close_pass_through(echo, proxy):
    with connect(proxy) as sock:
        assert round_trip(sock, b"hello") == b"hello"
        index = echo.accepted - 1
        sock.shutdown(socket.SHUT_WR)
        assert echo.ended[index].wait(IO_TIMEOUT_SECONDS), "the target did not see the client's EOF"
        assert is_closed(sock), "the client did not see the target's EOF"


def test_unreachable_target_resets_the_client():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        dead_port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    with FaultProxy(target=(HOST, dead_port)) as proxy:
        try:
            sock = connect(proxy)
        except ConnectionResetError:
            return  # the reset came before connect() returned: disconnected, as it should be
        with sock:
            assert is_closed(sock), "a client of a proxy whose target refuses must be disconnected"


# -- partitions ---------------------------------------------------------------------------

def test_partition_blocks_both_ways_and_heal_resets_and_restores(echo, proxy):
    sock = connect(proxy)
    try:
        assert round_trip(sock, b"before") == b"before"
        index = echo.accepted - 1

        proxy.partition()
        sock.sendall(b"lost-to-target")
        echo.connections[index].sendall(b"lost-from-target")
        assert receives_nothing(sock), "bytes crossed a partition towards the client (or it was closed)"
        assert bytes(echo.received[index]) == b"before", "bytes crossed a partition towards the target"
        assert not echo.ended[index].is_set(), "a partition must not close the connection"

        # a new connection is accepted by the proxy but never reaches the target
        accepted_before = echo.accepted
        during = connect(proxy)
        during.sendall(b"never")
        assert receives_nothing(during)
        assert echo.accepted == accepted_before, "a connection made during a full partition reached the target"
        stats = proxy.stats()
        assert stats["dropped_to_target"] >= len(b"lost-to-target") + len(b"never"), stats
        assert stats["dropped_from_target"] >= len(b"lost-from-target"), stats

        proxy.heal()
        assert is_closed(sock), "heal must close a connection that lived through the partition"
        assert is_closed(during), "heal must close a connection made during the partition"
        assert echo.ended[index].wait(IO_TIMEOUT_SECONDS), "the target side of the old connection stays open"
        assert bytes(echo.received[index]) == b"before", "dropped bytes were delivered after heal"
        assert proxy.stats()["reset_by_heal"] == 2

        with connect(proxy) as after:
            assert round_trip(after, b"after heal") == b"after heal"
            assert bytes(echo.received[server_index_of_newest(echo, accepted_before)]) == b"after heal"
    finally:
        sock.close()


def test_partition_to_target_drops_only_that_direction(echo, proxy):
    with connect(proxy) as sock:
        assert round_trip(sock, b"ok") == b"ok"
        index = echo.accepted - 1
        proxy.partition(direction="to_target")
        sock.sendall(b"dropped")
        echo.connections[index].sendall(b"pushed")
        assert receive_exactly(sock, len(b"pushed")) == b"pushed", "the open direction must still flow"
        assert receives_nothing(sock), "an echo came back, so bytes reached the target"
        assert bytes(echo.received[index]) == b"ok"
        assert proxy.stats()["dropped_to_target"] == len(b"dropped")
        proxy.heal()
        assert is_closed(sock)
    with connect(proxy) as after:
        assert round_trip(after, b"healed") == b"healed"


def test_partition_from_target_drops_only_that_direction(echo, proxy):
    with connect(proxy) as sock:
        assert round_trip(sock, b"ok") == b"ok"
        index = echo.accepted - 1
        proxy.partition(direction="from_target")
        sock.sendall(b"arrives")
        wait_until(lambda: bytes(echo.received[index]) == b"okarrives", IO_TIMEOUT_SECONDS, 0.005,
                   "bytes towards the target still arrive")
        echo.connections[index].sendall(b"pushed")
        assert receives_nothing(sock), "bytes from the target crossed a from_target partition"
        # the echo of "arrives" and the push were both dropped
        wait_until(lambda: proxy.stats()["dropped_from_target"] == len(b"arrives") + len(b"pushed"),
                   IO_TIMEOUT_SECONDS, 0.005, "the proxy dropped the echo and the push")
        proxy.heal()
        assert is_closed(sock)
    with connect(proxy) as after:
        assert round_trip(after, b"healed") == b"healed"


def test_bad_direction_is_refused(proxy):
    with pytest.raises(ValueError):
        proxy.partition(direction="sideways")


# -- close ----------------------------------------------------------------------------------

def test_close_releases_the_port_and_closes_connections(echo):
    proxy = FaultProxy(target=(HOST, echo.port))
    port = proxy.port
    sock = connect(proxy)
    try:
        assert round_trip(sock, b"x") == b"x"
        proxy.close()
        proxy.close()  # idempotent
        assert is_closed(sock), "close must close the proxied connections"
    finally:
        sock.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, port), timeout=IO_TIMEOUT_SECONDS).close()
    with socket.socket() as rebind:
        rebind.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        rebind.bind((HOST, port))  # raises if the proxy still held it
    with pytest.raises(RuntimeError):
        proxy.partition()


def test_context_manager_and_fixed_listen_port(echo):
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        wanted = probe.getsockname()[1]
    with FaultProxy(target=(HOST, echo.port), listen_port=wanted) as proxy:
        assert proxy.port == wanted and proxy.address == f"{HOST}:{wanted}"
        with connect(proxy) as sock:
            assert round_trip(sock, b"fixed") == b"fixed"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, wanted), timeout=IO_TIMEOUT_SECONDS).close()
