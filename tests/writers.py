"""Concurrent writers for the kill tests (tests/test_crash.py, tests/test_replication.py,
tests/test_failover.py).

Each ``Writer`` is one connection writing unique keys with unique values, pipelined or not,
and records what it sent and what was acknowledged, so a test can check every acknowledged
write after a crash. A ``FailoverWriter`` does the same across a failover: it moves to the
next node whenever one refuses or stops answering, and timestamps every acknowledgement
with the node that gave it. Loops are bounded in count and in time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from harness import HOST, iter_chunks
from resp import Closed, Err, RawClient, encode

PIPELINE_DEPTH = 8


@dataclass
class Writer:
    index: int
    pipelined: bool
    max_operations: int
    max_seconds: float
    #: also INCR a per-writer counter every 4th unpipelined write (its value must end up
    #: between the increments acknowledged and the increments sent)
    counts: bool = False
    acknowledged: dict[str, str] = field(default_factory=dict)
    sent: dict[str, str] = field(default_factory=dict)
    increments_sent: int = 0
    increments_acknowledged: int = 0
    stopped_by: str = ""
    unexpected: list = field(default_factory=list)

    @property
    def counter_key(self) -> str:
        return f"counter:{self.index}"

    def run(self, process, stop: threading.Event, salt: int) -> None:
        deadline = time.monotonic() + self.max_seconds
        try:
            client = process.raw(timeout=10.0)
        except OSError as error:
            self.stopped_by = f"connect: {error}"
            return
        try:
            operation = 0
            while operation < self.max_operations and not stop.is_set() and time.monotonic() < deadline:
                batch = []
                for _ in range(PIPELINE_DEPTH if self.pipelined else 1):
                    key = f"w{self.index}:k{operation}"
                    batch.append((key, f"v{self.index}-{operation}-{salt}-" + "p" * (operation % 37)))
                    operation += 1
                for key, value in batch:
                    self.sent[key] = value
                client.send(b"".join(encode("SET", key, value) for key, value in batch))
                for key, value in batch:
                    reply = client.read_reply()
                    if reply != "OK":
                        self.unexpected.append((key, reply))
                        self.stopped_by = f"unexpected reply {reply!r}"
                        return
                    self.acknowledged[key] = value
                if self.counts and not self.pipelined and operation % 4 == 0:
                    self.increments_sent += 1
                    reply = client.call("INCR", self.counter_key)
                    if not isinstance(reply, int):
                        self.unexpected.append((self.counter_key, reply))
                        return
                    self.increments_acknowledged += 1
            self.stopped_by = "stop event or limit"
        except (Closed, ConnectionError, OSError, TimeoutError) as error:
            self.stopped_by = f"{type(error).__name__}: {error}"[:200]
        finally:
            client.close()


def acknowledged_total(writers) -> int:
    return sum(len(writer.acknowledged) for writer in writers)


def compare_with_writers(process, writers) -> tuple[list, list]:
    """(acknowledged writes missing or wrong on ``process``, keys holding a value never
    written) for writers with ``sent`` and ``acknowledged`` dicts (``Writer``,
    ``FailoverWriter``)."""
    missing, foreign = [], []
    client = process.client()
    try:
        for writer in writers:
            for batch in iter_chunks(list(writer.sent), 1000):
                for key, value in zip(batch, client.mget(batch)):
                    if key in writer.acknowledged:
                        if value != writer.acknowledged[key]:
                            missing.append((key, value, writer.acknowledged[key]))
                    elif value not in (None, writer.sent[key]):
                        foreign.append((key, value, writer.sent[key]))
    finally:
        client.close()
    return missing, foreign


@dataclass(frozen=True)
class Ack:
    """One acknowledged write: when its ``+OK`` was read (``time.monotonic()``), from which
    node, and what was written."""

    at: float
    node: str
    key: str
    value: str


#: Failures kept per writer for messages (the counts in ``refusals`` cover all of them).
MAX_RECORDED_FAILURES = 50


@dataclass
class FailoverWriter:
    """One client writing unique keys (``SET prefix:N value``, one at a time) to whichever of
    ``targets`` (name -> process with a ``port``) acknowledges them.

    It keeps one connection per node; an error reply (READONLY, TRYAGAIN, ...) moves it to
    the next node, and so does a connection that fails or gives no reply within
    ``reply_timeout`` (that connection is dropped: its write's outcome is unknown). With one
    target it simply keeps retrying that node. ``retry_pause`` paces retries after a
    failure so a refusing cluster is not hammered. Bounded by ``max_operations`` and
    ``max_seconds``; ``stop`` ends it early.
    """

    prefix: str
    targets: dict
    max_operations: int
    max_seconds: float
    reply_timeout: float = 1.0
    retry_pause: float = 0.005
    acks: list[Ack] = field(default_factory=list)
    sent: dict[str, str] = field(default_factory=dict)
    acknowledged: dict[str, str] = field(default_factory=dict)
    #: "node: reply prefix or exception type" -> count
    refusals: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)
    stopped_by: str = ""

    def run(self, stop: threading.Event, salt: int = 0) -> None:
        names = list(self.targets)
        clients: dict[str, RawClient] = {}
        current = 0
        operation = 0
        deadline = time.monotonic() + self.max_seconds
        try:
            while operation < self.max_operations and not stop.is_set() and time.monotonic() < deadline:
                name = names[current]
                key = f"{self.prefix}:{operation}"
                value = f"{self.prefix}-{operation}-{salt}"
                try:
                    client = clients.get(name)
                    if client is None:
                        client = clients[name] = RawClient(HOST, self.targets[name].port, timeout=self.reply_timeout)
                    operation += 1
                    self.sent[key] = value
                    reply = client.call("SET", key, value)
                except (Closed, OSError, TimeoutError) as error:
                    dropped = clients.pop(name, None)
                    if dropped is not None:
                        dropped.close()
                    reply = error
                if reply == "OK":
                    self.acks.append(Ack(time.monotonic(), name, key, value))
                    self.acknowledged[key] = value
                    continue
                self._note_failure(name, reply)
                current = (current + 1) % len(names)
                stop.wait(self.retry_pause)
            self.stopped_by = "stop event or limit"
        finally:
            for client in clients.values():
                client.close()

    def _note_failure(self, node: str, reply) -> None:
        if isinstance(reply, Err):
            kind = reply.message.split(" ", 1)[0]
        elif isinstance(reply, BaseException):
            kind = type(reply).__name__
        else:
            kind = f"unexpected reply {reply!r}"[:60]
        self.refusals[f"{node}: {kind}"] += 1
        if len(self.failures) < MAX_RECORDED_FAILURES:
            self.failures.append((time.monotonic(), node, reply))

    def acks_from(self, node: str, after: float = float("-inf")) -> list[Ack]:
        """Acknowledgements from ``node`` whose ``+OK`` was read after ``after``."""
        return [ack for ack in list(self.acks) if ack.node == node and ack.at > after]


def acks_from(writers, node: str, after: float = float("-inf")) -> list[Ack]:
    """Every writer's acknowledgements from ``node`` after ``after``, oldest first."""
    return sorted((ack for writer in writers for ack in writer.acks_from(node, after)), key=lambda ack: ack.at)
