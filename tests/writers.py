"""Concurrent writers for the kill tests (tests/test_crash.py, tests/test_replication.py).

Each ``Writer`` is one connection writing unique keys with unique values, pipelined or not,
and records what it sent and what was acknowledged, so a test can check every acknowledged
write after a crash. Loops are bounded in count and in time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from resp import Closed, encode

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
