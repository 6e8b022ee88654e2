"""A fault-injecting TCP proxy for the process-level tests.

netem and iptables are not available here, so a partition between two processes is made by
routing the connections between them through a ``FaultProxy`` and telling it to drop bytes::

    with FaultProxy(target=("127.0.0.1", 7001)) as proxy:   # listens on 127.0.0.1:<free port>
        node_b.options.update(peer=proxy.address)            # B reaches A only through the proxy
        proxy.partition()                     # both directions dead
        proxy.partition(direction="to_target")    # only bytes towards the target are dropped
        proxy.partition(direction="from_target")  # only bytes coming back are dropped
        proxy.heal()                          # blackholed connections are reset; new ones flow

One selector loop on one daemon thread does all socket work; ``partition``, ``heal`` and
``stats`` run on that thread and return once it has carried them out, so when
``partition()`` returns no further byte is forwarded in a blocked direction.

How this differs from a real partition (read before relying on a detail):

- Dropped bytes are gone: they are never delivered later, and a connection that lived
  through a partition is never resumed (``heal`` resets it), since TCP would not deliver a
  stream with a hole in it. Bytes the proxy had read but not yet written when
  ``partition()`` was called count as in flight and are dropped too; bytes it had already
  written to the other side's kernel are delivered.
- The proxy reads and discards what it drops, so the sender's writes keep succeeding; over a
  real dead link its send buffer would fill up and its writes would block. Either way the
  receiver gets nothing.
- A connection made during a partition completes its handshake with the proxy's kernel, so
  ``connect()`` succeeds and then nothing is heard; behind a real dead link ``connect()``
  itself would hang until it timed out. During a full partition the proxy does not even
  connect upstream, so the target never sees the connection.
- A one-way partition applies to new connections too: they are connected upstream and
  forwarded in the open direction only (real TCP could not complete a handshake over a
  one-way link).
- ``heal()`` resets (RST) every connection that was open during the partition, as if TCP
  had given up on it: the peers see ``ECONNRESET`` at once instead of ``ETIMEDOUT`` minutes
  later.
- When the target refuses a connection (its process is gone), the client has already been
  accepted by the proxy, so it sees a reset (``ECONNRESET``, from ``connect()`` itself or
  from the first read or write after it) rather than ``ECONNREFUSED``.
- Outside a partition, EOF is passed on as a half-close (``shutdown(SHUT_WR)``) and a reset
  as a reset. In a blocked direction neither is passed on.
"""

from __future__ import annotations

import errno
import selectors
import socket
import struct
import threading
from collections import deque
from typing import Callable

HOST = "127.0.0.1"
TO_TARGET = "to_target"
FROM_TARGET = "from_target"
BOTH = "both"
_BLOCKED_BY_DIRECTION = {
    BOTH: frozenset({TO_TARGET, FROM_TARGET}),
    TO_TARGET: frozenset({TO_TARGET}),
    FROM_TARGET: frozenset({FROM_TARGET}),
}

#: Bytes read from one side and not yet written to the other; past this the proxy stops
#: reading from the sender (backpressure) instead of buffering more.
MAX_BUFFERED_BYTES_PER_DIRECTION = 256 * 1024
RECEIVE_CHUNK_BYTES = 64 * 1024
LISTEN_BACKLOG = 128
#: How long a caller waits for the loop thread to carry out a command.
COMMAND_TIMEOUT_SECONDS = 10.0
#: Internal errors kept for inspection (the loop never dies of one: it drops that connection).
MAX_RECORDED_ERRORS = 100


class _Side:
    """One end of a proxied connection: the socket and the bytes waiting to be written to it."""

    __slots__ = ("sock", "is_target", "outbox", "reading", "shutdown_pending", "connecting", "mask")

    def __init__(self, sock: socket.socket, is_target: bool, connecting: bool = False):
        self.sock: socket.socket | None = sock
        self.is_target = is_target
        self.outbox = bytearray()
        self.reading = True
        self.shutdown_pending = False
        self.connecting = connecting
        self.mask = 0

    @property
    def alive(self) -> bool:
        return self.sock is not None

    @property
    def outgoing_direction(self) -> str:
        """The direction of bytes read from this side."""
        return FROM_TARGET if self.is_target else TO_TARGET

    @property
    def incoming_direction(self) -> str:
        """The direction of bytes written to this side."""
        return TO_TARGET if self.is_target else FROM_TARGET


class _Link:
    """A client connection and, unless it was made during a full partition, its upstream."""

    __slots__ = ("client", "target", "blackholed")

    def __init__(self, client: _Side, blackholed: bool):
        self.client = client
        self.target: _Side | None = None
        self.blackholed = blackholed

    def sides(self) -> list[_Side]:
        return [side for side in (self.client, self.target) if side is not None and side.alive]

    def peer(self, side: _Side) -> _Side | None:
        peer = self.target if side is self.client else self.client
        return peer if peer is not None and peer.alive else None


class FaultProxy:
    """A TCP proxy from ``127.0.0.1:<port>`` to ``target`` that can drop traffic on command.

    ``listen_port``: a fixed port to listen on (default: a free one the kernel picks).
    Started on construction; ``close()`` (or leaving a ``with`` block) stops it and frees
    the port.
    """

    def __init__(self, target: tuple[str, int], listen_port: int = 0, name: str = ""):
        self.target = (target[0], int(target[1]))
        self.name = name or f"proxy->{self.target[0]}:{self.target[1]}"
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((HOST, listen_port))
            self._listener.listen(LISTEN_BACKLOG)
            self._listener.setblocking(False)
        except OSError:
            self._listener.close()
            raise
        self.port: int = self._listener.getsockname()[1]
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_reader, selectors.EVENT_READ, None)
        self._links: set[_Link] = set()
        self._blocked: frozenset[str] = frozenset()
        self._commands: deque = deque()
        self._lock = threading.Lock()
        self._stopping = False
        self._closed = False
        self._counters = {
            "accepted": 0, "forwarded_to_target": 0, "forwarded_from_target": 0,
            "dropped_to_target": 0, "dropped_from_target": 0, "reset_by_heal": 0,
        }
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name=f"faultproxy-{self.port}", daemon=True)
        self._thread.start()

    # -- public API ----------------------------------------------------------------------
    @property
    def address(self) -> str:
        """``HOST:PORT`` to give a process instead of the target's address."""
        return f"{HOST}:{self.port}"

    @property
    def blocked(self) -> frozenset[str]:
        """The directions currently dropped (empty when healthy)."""
        return self._blocked

    def partition(self, direction: str = BOTH) -> None:
        """Drop every byte flowing in ``direction`` (``both``, ``to_target``, ``from_target``)
        from now on, on existing connections and new ones, until ``heal()``.

        Replaces any partition in force. Connections stay open (nothing is closed or reset
        now); bytes already read but not yet forwarded in a blocked direction are dropped.
        """
        if direction not in _BLOCKED_BY_DIRECTION:
            raise ValueError(f"direction must be one of {sorted(_BLOCKED_BY_DIRECTION)}, not {direction!r}")
        self._call(lambda: self._apply_partition(_BLOCKED_BY_DIRECTION[direction]))

    def heal(self) -> None:
        """Forward normally again: every connection open during the partition is reset (as
        if TCP had timed it out); connections made from now on are forwarded both ways."""
        self._call(self._apply_heal)

    def stats(self) -> dict[str, int]:
        """Counters: ``accepted``, ``open``, ``forwarded_*`` and ``dropped_*`` bytes per
        direction, ``reset_by_heal``."""
        return self._call(lambda: {**self._counters, "open": len(self._links)})

    def close(self) -> None:
        """Stop the loop, close every connection and the listening socket. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stopping = True
        self._wake()
        self._thread.join(timeout=COMMAND_TIMEOUT_SECONDS)
        if self._thread.is_alive():
            raise RuntimeError(f"{self.name}: loop thread did not stop within {COMMAND_TIMEOUT_SECONDS}s")

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("partitioned " + "+".join(sorted(self._blocked)) if self._blocked else "open")
        return f"<FaultProxy {self.address} -> {self.target[0]}:{self.target[1]} {state}>"

    # -- commands to the loop thread -----------------------------------------------------
    def _call(self, function: Callable[[], object]):
        if threading.current_thread() is self._thread:
            return function()
        done = threading.Event()
        box: dict[str, object] = {}
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            self._commands.append((function, done, box))
        self._wake()
        if not done.wait(COMMAND_TIMEOUT_SECONDS):
            raise TimeoutError(f"{self.name}: loop thread did not run a command within {COMMAND_TIMEOUT_SECONDS}s")
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box.get("value")

    def _wake(self) -> None:
        try:
            self._wake_writer.send(b"x")
        except (BlockingIOError, OSError):
            pass  # a wake-up is already pending, or the loop is gone

    def _run_commands(self) -> None:
        while True:
            with self._lock:
                if not self._commands:
                    return
                function, done, box = self._commands.popleft()
            try:
                box["value"] = function()
            except Exception as error:  # noqa: BLE001 - handed back to the caller
                box["error"] = error
            done.set()

    # -- the loop ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stopping:
                self._run_commands()
                for key, events in self._selector.select(timeout=1.0):
                    if key.fileobj is self._wake_reader:
                        self._drain_wake()
                    elif key.fileobj is self._listener:
                        self._accept()
                    else:
                        link, side = key.data
                        self._guarded(link, lambda: self._on_event(link, side, events))
        finally:
            self._shut_down()

    def _shut_down(self) -> None:
        for link in list(self._links):
            self._close_link(link, reset=False)
        with self._lock:
            pending = list(self._commands)
            self._commands.clear()
        for _function, done, box in pending:
            box["error"] = RuntimeError(f"{self.name} is closed")
            done.set()
        for sock in (self._listener, self._wake_reader, self._wake_writer):
            try:
                self._selector.unregister(sock)
            except (KeyError, ValueError):
                pass
            sock.close()
        self._selector.close()

    def _drain_wake(self) -> None:
        try:
            while self._wake_reader.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _guarded(self, link: _Link, action: Callable[[], None]) -> None:
        """Run ``action`` for ``link``; an unexpected error drops that connection only."""
        try:
            action()
            if link in self._links:
                self._update_interest(link)
                self._finish_if_done(link)
        except Exception as error:  # noqa: BLE001 - one bad connection must not stop the proxy
            if len(self.errors) < MAX_RECORDED_ERRORS:
                self.errors.append(f"{type(error).__name__}: {error}")
            self._close_link(link, reset=True)

    def _accept(self) -> None:
        for _ in range(LISTEN_BACKLOG):
            try:
                client, _address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. EMFILE: leave it in the backlog, note it
                if len(self.errors) < MAX_RECORDED_ERRORS:
                    self.errors.append(f"accept: {error}")
                return
            self._counters["accepted"] += 1
            client.setblocking(False)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(_Side(client, is_target=False), blackholed=bool(self._blocked))
            self._links.add(link)
            if self._blocked != _BLOCKED_BY_DIRECTION[BOTH]:
                self._guarded(link, lambda: self._connect_target(link))
            else:
                self._guarded(link, lambda: None)

    def _connect_target(self, link: _Link) -> None:
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setblocking(False)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = upstream.connect_ex(self.target)
        if code not in (0, errno.EINPROGRESS, errno.EAGAIN):
            upstream.close()
            self._target_unreachable(link)
            return
        link.target = _Side(upstream, is_target=True, connecting=code != 0)

    def _target_unreachable(self, link: _Link) -> None:
        if FROM_TARGET in self._blocked:
            link.target = None  # the client could not have heard the refusal
        else:
            self._close_link(link, reset=True)

    def _on_event(self, link: _Link, side: _Side, events: int) -> None:
        if side.connecting:
            code = side.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code != 0:
                self._close_side(side, reset=False)
                link.target = None
                self._target_unreachable(link)
                return
            side.connecting = False
            self._flush(link, side)
            return
        if events & selectors.EVENT_WRITE:
            self._flush(link, side)
        if events & selectors.EVENT_READ and side.alive and side.reading:
            self._read(link, side)

    def _read(self, link: _Link, side: _Side) -> None:
        try:
            data = side.sock.recv(RECEIVE_CHUNK_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._side_failed(link, side)
            return
        direction = side.outgoing_direction
        if not data:
            self._side_ended(link, side)
            return
        peer = link.peer(side)
        if direction in self._blocked or peer is None:
            self._counters["dropped_" + direction] += len(data)
            return
        peer.outbox += data
        self._flush(link, peer)

    def _flush(self, link: _Link, side: _Side) -> None:
        if side.connecting or not side.alive:
            return
        while side.outbox:
            try:
                sent = side.sock.send(side.outbox)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._side_failed(link, side)
                return
            self._counters["forwarded_" + side.incoming_direction] += sent
            del side.outbox[:sent]
        if side.shutdown_pending:
            side.shutdown_pending = False
            try:
                side.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _side_ended(self, link: _Link, side: _Side) -> None:
        """EOF from ``side``: pass it on as a half-close unless its direction is blocked."""
        side.reading = False
        peer = link.peer(side)
        if peer is not None and side.outgoing_direction not in self._blocked:
            peer.shutdown_pending = True
            self._flush(link, peer)

    def _side_failed(self, link: _Link, side: _Side) -> None:
        """A reset or broken pipe on ``side``: reset the peer too, unless the direction from
        ``side`` is blocked (then the peer hears nothing until ``heal``)."""
        direction = side.outgoing_direction
        self._close_side(side, reset=False)
        if link.peer(side) is not None and direction not in self._blocked:
            self._close_link(link, reset=True)

    def _finish_if_done(self, link: _Link) -> None:
        """Close a connection once neither side will send anything more and all is flushed."""
        sides = link.sides()
        if all(not side.reading and not side.outbox and not side.shutdown_pending and not side.connecting
               for side in sides):
            self._close_link(link, reset=False)

    def _update_interest(self, link: _Link) -> None:
        for side in link.sides():
            peer = link.peer(side)
            if side.connecting:
                mask = selectors.EVENT_WRITE
            else:
                mask = 0
                dropping = peer is None or side.outgoing_direction in self._blocked
                if side.reading and (dropping or len(peer.outbox) < MAX_BUFFERED_BYTES_PER_DIRECTION):
                    mask |= selectors.EVENT_READ
                if side.outbox:
                    mask |= selectors.EVENT_WRITE
            if mask == side.mask:
                continue
            if side.mask == 0:
                self._selector.register(side.sock, mask, (link, side))
            elif mask == 0:
                self._selector.unregister(side.sock)
            else:
                self._selector.modify(side.sock, mask, (link, side))
            side.mask = mask

    def _close_side(self, side: _Side, reset: bool) -> None:
        if side.sock is None:
            return
        if side.mask:
            try:
                self._selector.unregister(side.sock)
            except (KeyError, ValueError):
                pass
            side.mask = 0
        if reset:
            try:
                side.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        side.sock.close()
        side.sock = None
        side.outbox.clear()
        side.reading = False
        side.shutdown_pending = False

    def _close_link(self, link: _Link, reset: bool) -> None:
        for side in (link.client, link.target):
            if side is not None:
                self._close_side(side, reset)
        self._links.discard(link)

    # -- commands (run on the loop thread) -----------------------------------------------
    def _apply_partition(self, blocked: frozenset[str]) -> None:
        self._blocked = blocked
        for link in list(self._links):
            link.blackholed = True
            for side in link.sides():
                if side.incoming_direction in blocked:
                    self._counters["dropped_" + side.incoming_direction] += len(side.outbox)
                    side.outbox.clear()
                    side.shutdown_pending = False
            self._guarded(link, lambda: None)

    def _apply_heal(self) -> None:
        self._blocked = frozenset()
        for link in list(self._links):
            if link.blackholed:
                self._counters["reset_by_heal"] += 1
                self._close_link(link, reset=True)
