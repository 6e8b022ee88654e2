"""Replication at process level (docs/replication.md, issue 3): a primary and a standby as
real processes on loopback, started with exactly the flags operators use
(``--peer --replication --role``).

- streaming in both modes, with ``ROLE`` and ``INFO replication`` as Redis tools read them;
- sync mode: ``kill -9`` the primary at seeded random moments during concurrent writes;
  every acknowledged write must be on the standby (and still there after the standby itself
  is killed and restarted);
- async mode: the same run; what is lost must not exceed what the primary's lag said;
- a standby restarted after many writes catches up from the WAL, and, once the WAL it
  needs is gone, from a snapshot while writes continue;
- a standby whose log diverged refuses to apply anything;
- READONLY redirects, WAIT, DURABILITY, NOREPLICAS after ``--sync-timeout`` and at
  ``--max-waiting-writes``.

The whole module is skipped until ``understudy server --help`` lists ``--peer``.

Seeds: ``REPLICATION_SEED`` (env) fixes the base seed of the kill rounds; otherwise one is
drawn. Every round prints its seed and the base (``REPLICATION_SEED=...``) and every failure
message names the round's seed, so a failing round can be replayed with that environment
variable and the test's id.

Run: ``UNDERSTUDY_BIN=.build/debug/understudy python3 -m pytest -q tests/test_replication.py``
(about a minute; ``-s`` shows the per-round reports: acknowledged writes, lag, losses).
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import (
    HOST,
    call,
    holds_for,
    info,
    iter_chunks,
    reserve_port,
    understudy_binary,
    understudy_supports,
    wait_until,
    wait_until_stable,
    wait_values,
    wrong_values,
)
from resp import Closed, Err, encode
from writers import Writer, acknowledged_total, compare_with_writers

pytestmark = [
    pytest.mark.skipif(
        not understudy_supports("--peer"),
        reason=(f"`{understudy_binary()} server --help` does not list --peer: replication is not wired yet"
                if understudy_binary().exists() else f"understudy binary not found at {understudy_binary()}"),
    ),
    pytest.mark.understudy_only,
    pytest.mark.slow,
]

BASE_SEED = int(os.environ.get("REPLICATION_SEED", random.randrange(1 << 30)))
SYNC_TIMEOUT = "1s"
SYNC_TIMEOUT_SECONDS = 1.0
# Generous upper bound on when a timed-out reply must have arrived (loaded CI machines).
TIMING_SLACK_SECONDS = 4.0
READONLY_PREFIX = "READONLY You can't write against a read only replica."

WRITERS = 6
MAX_OPERATIONS_PER_WRITER = 20_000
MAX_WRITE_SECONDS = 15.0


# -- helpers -------------------------------------------------------------------------------

def role(process):
    return call(process, "ROLE")


def write_keys(process, prefix: str, count: int, value_bytes: int = 0) -> dict[str, str]:
    """SET ``count`` fresh keys (pipelined in batches); return them with their values."""
    written = {f"{prefix}:{i:06d}": f"{prefix}-{i}-" + "v" * value_bytes for i in range(count)}
    client = process.client()
    try:
        for batch in iter_chunks(list(written.items()), 250):
            pipe = client.pipeline(transaction=False)
            for key, value in batch:
                pipe.set(key, value)
            replies = pipe.execute()
            assert all(reply is True for reply in replies), f"SET replies {replies[:5]}"
    finally:
        client.close()
    return written


def wait_for_info(process, condition, timeout: float, message: str, section: str = "replication") -> dict:
    """Poll ``INFO <section>`` until ``condition(fields)`` holds; return those fields."""
    def check():
        fields = info(process, section)
        return fields if condition(fields) else None
    return wait_until(check, timeout, 0.05, message)


def dbsize(process) -> int:
    return call(process, "DBSIZE")


def standby_settled(pair, seed: int) -> tuple[str, str]:
    """After the primary died: wait until the standby saw its link go down (it has read
    everything the primary sent) and its applied and durable LSNs stopped moving."""
    wait_until(lambda: info(pair.standby).get("master_link_status") == "down", 15.0, 0.02,
               f"seed {seed}: standby reports master_link_status:down after the primary died")
    return wait_until_stable(
        lambda: (info(pair.standby)["understudy_applied_lsn"], info(pair.standby)["understudy_durable_lsn"]),
        quiet_seconds=0.5, timeout=20.0, message=f"seed {seed}: standby applied/durable LSN stop changing")


def is_error(reply, prefix: str) -> bool:
    return isinstance(reply, Err) and reply.message.startswith(prefix)


def oldest_wal_segment_lsn(process) -> int:
    """First LSN of the oldest WAL segment file (segments are named by their first LSN)."""
    segments = [path for path in (process.data_dir / "wal").iterdir() if path.suffix == ".wal"]
    assert segments, f"no WAL segments in {process.data_dir / 'wal'}"
    return min(int(path.stem) for path in segments)


def discarded_entries(process) -> list[Path]:
    directory = process.data_dir / "discarded"
    return sorted(directory.iterdir()) if directory.is_dir() else []


# -- concurrent writers for the kill rounds -----------------------------------------------

def run_writers_then_kill_primary(pair, seed: int, before_kill=None, pause_standby: bool = False) -> list[Writer]:
    """Start the writers; at a seeded random moment (and once some writes were acknowledged)
    call ``before_kill(writers)`` and ``kill -9`` the primary. Returns the writers, all stopped.

    ``pause_standby``: SIGSTOP the standby a seeded 50-300 ms before the kill, and kill -9 it
    too, still stopped, right after the primary (the caller restarts it from its own disk).
    On loopback a healthy standby receives a record before the primary's own fsync returns,
    and whatever sits unread in its socket buffer survives a SIGSTOP, so without this even a
    primary that acknowledged writes on local durability alone would seldom lose any. With
    it, whatever the standby had not written itself is gone: a sync primary must not have
    acknowledged any of it; an async primary loses what its lag said."""
    rng = random.Random(seed)
    kill_after_seconds = rng.uniform(0.2, 1.5)
    minimum_acknowledged = rng.randrange(50, 500)
    pause_seconds = rng.uniform(0.05, 0.3)
    print(f"seed {seed}: kill the primary after {kill_after_seconds:.3f}s and >= {minimum_acknowledged} "
          f"acknowledged writes" + (f", the standby stalled for the last {pause_seconds:.3f}s" if pause_standby else ""))
    writers = [Writer(index, pipelined=(index % 2 == 1), max_operations=MAX_OPERATIONS_PER_WRITER,
                      max_seconds=MAX_WRITE_SECONDS) for index in range(WRITERS)]
    stop = threading.Event()
    threads = [threading.Thread(target=writer.run, args=(pair.primary, stop, seed), daemon=True)
               for writer in writers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        wait_until(
            lambda: time.monotonic() - started >= kill_after_seconds
            and acknowledged_total(writers) >= minimum_acknowledged,
            MAX_WRITE_SECONDS, 0.005, f"seed {seed}: kill point reached")
        if pause_standby:
            pair.standby.pause()
            acknowledged_at_pause = acknowledged_total(writers)
            time.sleep(pause_seconds)  # the fault itself (a stalled standby), not a wait for readiness
            print(f"seed {seed}: {acknowledged_total(writers) - acknowledged_at_pause} writes acknowledged "
                  f"while the standby was stalled")
        if before_kill is not None:
            before_kill(writers)
    finally:
        pair.primary.kill()
        if pause_standby:
            pair.standby.kill()  # still stopped: what it had not read from its socket is gone
        stop.set()
        for thread in threads:
            thread.join(timeout=15.0)
    assert not any(thread.is_alive() for thread in threads), f"seed {seed}: writer threads did not stop"
    for writer in writers:
        assert not writer.unexpected, f"seed {seed}: writer {writer.index} got {writer.unexpected[:3]}"
    print(f"seed {seed}: {acknowledged_total(writers)} acknowledged, {sum(len(w.sent) for w in writers)} sent; "
          f"writers stopped by {sorted({w.stopped_by[:40] for w in writers})}")
    return writers


# -- 1. streaming, ROLE, INFO ----------------------------------------------------------------

@pytest.mark.parametrize("mode", ["sync", "async"])
def test_streaming_with_role_and_info(make_pair, mode):
    pair = make_pair(mode, start=False)
    primary, standby = pair.primary, pair.standby
    primary.start()

    # alone: a master with no replica yet
    alone = role(primary)
    assert alone[0] == "master" and isinstance(alone[1], int) and alone[2] == [], alone
    fields = info(primary)
    assert fields.get("role") == "master" and fields.get("connected_slaves") == "0", fields

    standby.start()
    pair.wait_attached()

    expected = write_keys(primary, f"stream-{mode}", 500, value_bytes=17)
    if mode == "sync":
        # an acknowledged sync write is on the standby: readable there soon after
        with primary.raw() as client:
            assert client.call("SET", "sync:probe", "acknowledged") == "OK"
        wait_values(standby, {"sync:probe": "acknowledged"}, 10.0, "sync probe on the standby")
        expected["sync:probe"] = "acknowledged"
    wait_values(standby, expected, 20.0, f"{mode}: the primary's 500 SETs on the standby")
    last_lsn = pair.wait_caught_up()
    assert last_lsn >= len(expected)
    assert dbsize(standby) == len(expected) == dbsize(primary)

    # ROLE on the primary: ["master", offset, [[host, port, offset]]] with the standby caught up
    def primary_role_caught_up():
        reply = role(primary)
        return reply if len(reply[2]) == 1 and reply[2][0][2] == str(reply[1]) else None

    kind, offset, replicas = wait_until(primary_role_caught_up, 15.0, 0.05, "primary ROLE shows the standby caught up")
    assert kind == "master"
    assert isinstance(offset, int) and offset >= len(expected), offset
    assert replicas == [[HOST, str(standby.port), str(offset)]], replicas

    # ROLE on the standby: ["slave", primary host, primary port, "connected", offset]
    def standby_role_caught_up():
        reply = role(standby)
        return reply if reply[3] == "connected" and reply[4] == offset else None

    standby_role = wait_until(standby_role_caught_up, 15.0, 0.05, f"standby ROLE connected at offset {offset}")
    assert standby_role == ["slave", HOST, primary.port, "connected", offset], standby_role

    # INFO replication on the primary
    primary_fields = wait_for_info(primary, lambda f: f.get("understudy_lag_lsns") == "0", 15.0,
                                   "primary reports lag 0")
    assert primary_fields["role"] == "master"
    assert primary_fields["connected_slaves"] == "1"
    assert primary_fields["understudy_replication_mode"] == mode
    epoch = int(primary_fields["understudy_epoch"])
    assert epoch >= 1
    assert int(primary_fields["understudy_lag_bytes"]) == 0
    assert int(primary_fields["understudy_lag_milliseconds"]) >= 0

    # INFO replication on the standby
    standby_fields = wait_for_info(standby, lambda f: f.get("understudy_durable_lsn") == str(last_lsn), 15.0,
                                   f"standby durable LSN reaches {last_lsn}")
    assert standby_fields["role"] == "slave"
    assert standby_fields["master_host"] == HOST
    assert standby_fields["master_port"] == str(primary.port)
    assert standby_fields["master_link_status"] == "up"
    assert int(standby_fields["understudy_epoch"]) == epoch
    assert int(standby_fields["understudy_applied_lsn"]) == last_lsn


# -- 2. sync: kill -9 the primary, nothing acknowledged is lost ------------------------------

KILL_ROUNDS = [(0, False), (1, True), (2, False), (3, True)]
KILL_ROUND_IDS = [f"round{index}-{'standby-stalled' if paused else 'standby-running'}" for index, paused in KILL_ROUNDS]


@pytest.mark.parametrize("round_index, pause_standby", KILL_ROUNDS, ids=KILL_ROUND_IDS)
def test_sync_kill9_primary_loses_no_acknowledged_write(make_pair, round_index, pause_standby):
    seed = BASE_SEED + round_index
    print(f"sync kill round {round_index}: seed {seed} (REPLICATION_SEED={BASE_SEED})")
    pair = make_pair("sync")
    writers = run_writers_then_kill_primary(pair, seed, pause_standby=pause_standby)
    if not pause_standby:
        applied, durable = standby_settled(pair, seed)
        print(f"seed {seed}: standby settled at applied LSN {applied}, durable LSN {durable}")
        missing, foreign = compare_with_writers(pair.standby, writers)
        assert not missing, (f"seed {seed}: {len(missing)} acknowledged sync writes are not on the standby, "
                             f"first {missing[:5]}")
        assert not foreign, f"seed {seed}: keys with values never written: {foreign[:5]}"
        # acknowledged means written by the standby itself, not only in its memory
        pair.standby.kill()
    pair.standby.start()  # recovers from its own data directory; the primary is gone
    missing, foreign = compare_with_writers(pair.standby, writers)
    assert not missing, (f"seed {seed}: after kill -9 and restart of the standby, {len(missing)} of "
                         f"{acknowledged_total(writers)} acknowledged sync writes are gone, first {missing[:5]}")
    assert not foreign, f"seed {seed}: after the standby's restart, foreign values {foreign[:5]}"


# -- 3. async: loses at most what the lag said ----------------------------------------------

@dataclass
class LagMonitor:
    """Samples the primary's ``understudy_lag_lsns`` until stopped or the primary dies."""

    samples: list[int] = field(default_factory=list)
    errors: int = 0

    def run(self, process, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.samples.append(int(info(process, timeout=2.0)["understudy_lag_lsns"]))
            except (Closed, OSError, TimeoutError, KeyError, ValueError, AssertionError):
                self.errors += 1
                if not process.alive:
                    return
            stop.wait(0.02)


@pytest.mark.parametrize("round_index, pause_standby", KILL_ROUNDS, ids=KILL_ROUND_IDS)
def test_async_kill9_primary_loses_at_most_the_lag(make_pair, round_index, pause_standby):
    seed = BASE_SEED + 100 + round_index
    print(f"async kill round {round_index}: seed {seed} (REPLICATION_SEED={BASE_SEED})")
    pair = make_pair("async")
    monitor = LagMonitor()
    monitor_stop = threading.Event()
    monitor_thread = threading.Thread(target=monitor.run, args=(pair.primary, monitor_stop), daemon=True)
    at_kill: dict[str, int] = {}

    def before_kill(writers):
        # The primary's last word, then kill at once: an acknowledged write the standby lacks
        # was either inside this lag or acknowledged after we asked for it.
        monitor_stop.set()
        monitor_thread.join(timeout=5.0)
        at_kill["acknowledged_before_sample"] = acknowledged_total(writers)
        at_kill["lag"] = int(info(pair.primary)["understudy_lag_lsns"])

    monitor_thread.start()
    try:
        writers = run_writers_then_kill_primary(pair, seed, before_kill, pause_standby=pause_standby)
    finally:
        monitor_stop.set()
        monitor_thread.join(timeout=5.0)
    if pause_standby:
        pair.standby.start()  # killed while stalled: recovers what it had written itself
    else:
        standby_settled(pair, seed)

    missing, foreign = compare_with_writers(pair.standby, writers)
    assert not foreign, f"seed {seed}: keys with values never written: {foreign[:5]}"
    acknowledged = acknowledged_total(writers)
    acknowledged_after_sample = acknowledged - at_kill["acknowledged_before_sample"]
    max_lag_seen = max(monitor.samples + [at_kill["lag"]])
    bound = max_lag_seen + acknowledged_after_sample + WRITERS * 2
    print(f"seed {seed}: async kill: {acknowledged} acknowledged, {len(missing)} missing on the standby; "
          f"lag at kill {at_kill['lag']} LSNs, max lag seen {max_lag_seen} over {len(monitor.samples)} samples, "
          f"{acknowledged_after_sample} acknowledged after the last sample; bound {bound}")
    assert len(missing) <= bound, (
        f"seed {seed}: {len(missing)} acknowledged async writes missing, more than the lag explains "
        f"(lag at kill {at_kill['lag']}, max seen {max_lag_seen}, acknowledged after the sample "
        f"{acknowledged_after_sample}); first {missing[:5]}")


# -- 4. catch-up after a standby restart: from the WAL, then from a snapshot ----------------

def test_standby_restart_catches_up_from_wal(make_pair):
    pair = make_pair("async")
    primary, standby = pair.primary, pair.standby
    expected = write_keys(primary, "before", 100)
    pair.wait_caught_up()

    assert standby.stop() == 0, "standby did not exit cleanly on SIGTERM"
    wait_until(lambda: info(primary).get("connected_slaves") == "0", 15.0, 0.05, "primary sees the standby gone")
    assert role(primary)[2] == []
    down = write_keys(primary, "down", 2000)
    expected.update(down)
    lag = int(info(primary)["understudy_lag_lsns"])
    assert lag >= len(down), f"primary reports lag {lag} LSNs with the standby down for {len(down)} writes"

    standby.start()
    pair.wait_attached()
    pair.wait_caught_up()
    wait_values(standby, expected, 30.0, "every key written while the standby was down")
    assert dbsize(standby) == len(expected)
    assert discarded_entries(standby) == [], "catch-up from a retained WAL must not replace the standby's log"


@dataclass
class LiveWriter:
    """Pipelined SETs of fresh keys as fast as one connection goes, until stopped (but at
    least ``min_seconds``), bounded by ``max_seconds`` and ``max_keys``."""

    prefix: str
    min_seconds: float
    max_seconds: float
    max_keys: int
    acknowledged: dict[str, str] = field(default_factory=dict)
    unexpected: list = field(default_factory=list)
    finished_by: str = ""

    def run(self, process, stop: threading.Event) -> None:
        started = time.monotonic()
        index = 0
        try:
            with process.raw(timeout=15.0) as client:
                while index < self.max_keys:
                    elapsed = time.monotonic() - started
                    if elapsed >= self.max_seconds:
                        self.finished_by = "max_seconds"
                        return
                    if stop.is_set() and elapsed >= self.min_seconds:
                        self.finished_by = "stopped"
                        return
                    batch = [(f"{self.prefix}:{index + i:07d}", f"{self.prefix}-{index + i}-" + "L" * 40)
                             for i in range(50)]
                    index += len(batch)
                    client.send(b"".join(encode("SET", key, value) for key, value in batch))
                    for key, value in batch:
                        reply = client.read_reply()
                        if reply != "OK":
                            self.unexpected.append((key, reply))
                            return
                        self.acknowledged[key] = value
                self.finished_by = "max_keys"
        except (Closed, OSError, TimeoutError) as error:
            self.unexpected.append(("connection", f"{type(error).__name__}: {error}"))


SNAPSHOT_CATCH_UP_OPTIONS = {"snapshot_threshold_bytes": 65536, "wal_segment_bytes": 65536, "wal_retention_bytes": 0}


def test_standby_catches_up_from_snapshot_while_writes_continue(make_pair):
    pair = make_pair("async", primary_options=SNAPSHOT_CATCH_UP_OPTIONS)
    primary, standby = pair.primary, pair.standby
    expected = write_keys(primary, "early", 200, value_bytes=40)
    pair.wait_caught_up()
    standby_last = pair.standby_applied_lsn()
    assert standby.stop() == 0, "standby did not exit cleanly on SIGTERM"

    # Write until the primary has pruned the WAL the standby would need (a snapshot covers
    # it, and the oldest retained segment starts after the standby's next LSN).
    def pruned() -> bool:
        snapshot_lsn = int(info(primary, "persistence")["snapshot_last_lsn"])
        return snapshot_lsn > standby_last and oldest_wal_segment_lsn(primary) > standby_last + 1

    deadline = time.monotonic() + 30.0
    for batch_index in range(200):
        if pruned():
            break
        assert time.monotonic() < deadline, "the primary did not prune its WAL within 30 s"
        expected.update(write_keys(primary, f"down{batch_index:03d}", 500, value_bytes=100))
    else:
        wait_until(pruned, 10.0, 0.05, "the primary prunes the WAL the standby needs")
    print(f"standby stopped at LSN {standby_last}; primary pruned to segment {oldest_wal_segment_lsn(primary)}, "
          f"{len(expected)} keys")

    # Restart the standby while a writer keeps the primary busy; it must converge (pass the
    # LSN the primary had at the restart) while the writer is still writing.
    live = LiveWriter("live", min_seconds=2.0, max_seconds=25.0, max_keys=500_000)
    stop = threading.Event()
    thread = threading.Thread(target=live.run, args=(primary, stop), daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(live.acknowledged) >= 100, 10.0, 0.01, "live writer is writing")
        restart_lsn = pair.last_written_lsn()
        standby.start()
        wait_until(lambda: pair.standby_applied_lsn() >= restart_lsn, 20.0, 0.05,
                   f"standby reaches LSN {restart_lsn} (where the primary was at its restart) under load")
        assert thread.is_alive(), (f"the live writer ended ({live.finished_by}, {live.unexpected[:2]}) before "
                                   f"the standby converged: catch-up was not tested under load")
    finally:
        stop.set()
        thread.join(timeout=30.0)
    assert not thread.is_alive(), "live writer did not stop"
    assert not live.unexpected, f"live writer: {live.unexpected[:3]}"
    print(f"live writer: {len(live.acknowledged)} acknowledged, finished by {live.finished_by}")
    expected.update(live.acknowledged)

    pair.wait_attached()
    pair.wait_caught_up(30.0)
    assert dbsize(standby) == dbsize(primary) == len(expected)
    wrong = wrong_values(standby, expected)
    assert not wrong, f"{len(wrong)} of {len(expected)} keys wrong on the standby, first {wrong[:5]}"
    sample = random.Random(BASE_SEED).sample(sorted(expected), 500)
    client = primary.client()
    try:
        assert client.mget(sample) == [expected[key] for key in sample]
    finally:
        client.close()
    assert discarded_entries(standby), (
        "the standby should have installed a snapshot and moved its old WAL to discarded/ "
        f"(data dir holds {sorted(p.name for p in standby.data_dir.iterdir())})")


# -- 5. a divergent standby refuses to apply anything --------------------------------------

@pytest.mark.parametrize(
    "primary_extra, standby_extra", [(0, 0), (5, 0), (0, 5)],
    ids=["same-length", "primary-longer", "standby-longer"])
def test_divergent_standby_refuses_conflicting_records(make_node, primary_extra, standby_extra):
    primary_port = reserve_port()
    standby_port = reserve_port()
    while standby_port == primary_port:
        standby_port = reserve_port()
    # two independent nodes: their logs diverge at LSN 1
    primary = make_node(port=primary_port, role="primary")
    standby = make_node(port=standby_port, role="primary")
    primary.start()
    standby.start()
    primary_values = {f"div:{i:02d}": f"primary-{i}" for i in range(20 + primary_extra)}
    standby_values = {f"div:{i:02d}": f"standby-{i}" for i in range(20 + standby_extra)}
    for process, values in ((primary, primary_values), (standby, standby_values)):
        with process.raw() as client:
            for key, value in values.items():
                assert client.call("SET", key, value) == "OK"
    standby_last = int(info(standby, "persistence")["wal_last_appended_lsn"])
    assert primary.stop() == 0 and standby.stop() == 0

    primary.options.update(peer=standby.address, replication="async", role="primary")
    standby.options.update(peer=primary.address, replication="async", role="standby")
    primary.start()
    standby.start()

    wait_until(lambda: "diverged" in standby.log_of_last_start().lower(), 20.0, 0.05,
               "the standby logs that its log diverged from the primary's")
    fields = wait_for_info(standby, lambda f: f.get("master_link_status") == "down", 10.0,
                           "standby INFO shows master_link_status:down")
    assert fields["role"] == "slave"
    assert int(fields["understudy_applied_lsn"]) == standby_last, fields
    assert wrong_values(standby, standby_values) == [], "the standby applied records of a diverged log"
    assert dbsize(standby) == len(standby_values)
    assert wrong_values(primary, primary_values) == []
    assert info(primary).get("connected_slaves") == "0"

    # the primary goes on; the standby keeps refusing (it retries, and must refuse again)
    assert call(primary, "SET", "after-divergence", "x") == "OK"

    def standby_untouched():
        now = info(standby)
        return (call(standby, "EXISTS", "after-divergence") == 0
                and now.get("master_link_status") == "down"
                and now.get("understudy_applied_lsn") == str(standby_last))

    held, seen = holds_for(standby_untouched, 1.5)
    assert held, f"the diverged standby changed: {seen!r}; log tail:\n{standby.log_tail(20)}"
    assert wrong_values(standby, standby_values) == []
    assert discarded_entries(standby) == [], "a diverged standby must not move its log aside"
    assert is_error(call(standby, "SET", "k", "v"), "READONLY"), "a diverged standby is still a standby"


# -- 6. READONLY, WAIT, DURABILITY, NOREPLICAS ---------------------------------------------

def test_standby_refuses_writes_with_redirect_and_serves_reads(make_pair):
    pair = make_pair("async")
    primary, standby = pair.primary, pair.standby
    assert call(primary, "SET", "replicated", "from-primary") == "OK"
    wait_values(standby, {"replicated": "from-primary"}, 10.0, "a read on the standby")
    epoch = info(primary)["understudy_epoch"]

    writes = [("SET", "x", "1"), ("SET", "replicated", "changed"), ("DEL", "replicated"), ("INCR", "n"),
              ("MSET", "a", "1", "b", "2"), ("APPEND", "replicated", "more"), ("EXPIRE", "replicated", "100"),
              ("FLUSHALL",)]
    with standby.raw() as client:
        for command in writes:
            reply = client.call(*command)
            assert is_error(reply, READONLY_PREFIX), f"{command} on the standby answered {reply!r}"
            assert f"primary={primary.address}" in reply.message, reply.message
            match = re.search(r"epoch=(\d+)", reply.message)
            assert match and match.group(1) == epoch, f"{reply.message!r}; primary epoch {epoch}"
        # reads work, and the refused writes changed nothing
        assert client.call("GET", "replicated") == "from-primary"
        assert client.call("EXISTS", "x", "n", "a", "b") == 0
        assert client.call("TTL", "replicated") == -1
        assert client.call("DBSIZE") == 1


def test_wait_and_durability_in_async_mode(make_pair):
    pair = make_pair("async")
    primary, standby = pair.primary, pair.standby
    with primary.raw(timeout=15.0) as client:
        assert client.call("SET", "w:1", "one") == "OK"
        assert client.call("WAIT", 1, 1000) == 1
        level, lsn1 = client.call("DURABILITY")
        assert level == "replica" and int(lsn1) == pair.last_written_lsn()

        assert standby.stop() == 0
        wait_until(lambda: info(primary).get("connected_slaves") == "0", 15.0, 0.05, "primary sees the standby gone")
        started = time.monotonic()
        assert client.call("SET", "w:2", "two") == "OK", "an async write must not wait for the standby"
        assert time.monotonic() - started < SYNC_TIMEOUT_SECONDS
        level, lsn2 = client.call("DURABILITY")
        assert level == "local" and int(lsn2) > int(lsn1) and int(lsn2) == pair.last_written_lsn()
        started = time.monotonic()
        assert client.call("WAIT", 1, 1000) == 0
        elapsed = time.monotonic() - started
        assert 0.95 <= elapsed <= 1.0 + TIMING_SLACK_SECONDS, f"WAIT 1 1000 returned after {elapsed:.3f}s"
        assert client.call("DURABILITY") == ["local", lsn2]

        standby.start()
        pair.wait_attached()
        pair.wait_caught_up()
        assert client.call("WAIT", 1, 1000) == 1
        assert client.call("DURABILITY") == ["replica", lsn2]
    wait_values(standby, {"w:1": "one", "w:2": "two"}, 10.0, "async writes on the standby after it came back")


def test_sync_write_fails_after_timeout_without_standby_then_recovers(make_pair):
    pair = make_pair("sync", start=False, sync_timeout=SYNC_TIMEOUT)
    primary, standby = pair.primary, pair.standby
    primary.start()  # the standby has never been up

    def timed_set(key: str, value: str):
        with primary.raw(timeout=SYNC_TIMEOUT_SECONDS + TIMING_SLACK_SECONDS + 5) as client:
            started = time.monotonic()
            reply = client.call("SET", key, value)
            return reply, time.monotonic() - started

    reply, elapsed = timed_set("never:1", "v")
    assert is_error(reply, "NOREPLICAS"), f"a sync write with no standby answered {reply!r}"
    assert SYNC_TIMEOUT_SECONDS * 0.95 <= elapsed <= SYNC_TIMEOUT_SECONDS + TIMING_SLACK_SECONDS, elapsed

    standby.start()
    pair.wait_attached()
    pair.wait_caught_up()
    reply, elapsed = timed_set("up:1", "v1")
    assert reply == "OK", reply
    wait_values(standby, {"up:1": "v1"}, 10.0, "acknowledged sync write on the standby")

    # the standby goes away: writes wait, then fail
    assert standby.stop() == 0
    reply, elapsed = timed_set("down:1", "v")
    assert is_error(reply, "NOREPLICAS"), f"a sync write with the standby stopped answered {reply!r}"
    assert SYNC_TIMEOUT_SECONDS * 0.95 <= elapsed <= SYNC_TIMEOUT_SECONDS + TIMING_SLACK_SECONDS, elapsed

    # back and caught up: writes succeed again
    standby.start()
    pair.wait_attached()
    pair.wait_caught_up()
    with primary.raw() as client:
        assert client.call("SET", "up:2", "v2") == "OK"
        level, lsn = client.call("DURABILITY")
        assert level == "replica" and int(lsn) == pair.last_written_lsn()
    wait_values(standby, {"up:1": "v1", "up:2": "v2"}, 10.0, "sync writes after the standby came back")
    # a failed write's outcome is unknown: absent, or exactly what was written
    for key in ("never:1", "down:1"):
        assert call(standby, "GET", key) in (None, "v")
        assert call(primary, "GET", key) in (None, "v")


def test_max_waiting_writes_refuses_the_next_write_at_once(make_pair):
    pair = make_pair("sync", start=False, sync_timeout="2s", primary_options={"max_waiting_writes": 2})
    primary, standby = pair.primary, pair.standby
    primary.start()  # no standby: every write waits
    timeout = 2.0
    with primary.raw(timeout=timeout + TIMING_SLACK_SECONDS + 5) as pipelined, \
            primary.raw(timeout=timeout + TIMING_SLACK_SECONDS + 5) as other:
        assert other.call("PING") == "PONG"  # connected and accepted before the pipeline goes out
        started = time.monotonic()
        pipelined.send(encode("SET", "wait:a", "a") + encode("SET", "wait:b", "b") + encode("SET", "wait:c", "c"))
        # the pipeline must have been read before the other connection's write is sent:
        # two connections' bytes reach the server in no guaranteed order
        wait_until(lambda: int(info(primary, "persistence")["wal_last_appended_lsn"]) >= 2,
                   timeout=timeout, message="the pipelined writes were not appended")
        # a, b wait (the limit is 2); c, and a write from another connection, are refused
        # before they run, without waiting for the timeout
        other.send(encode("SET", "wait:d", "d"))
        refused = other.read_reply()
        refused_after = time.monotonic() - started
        replies = [pipelined.read_reply() for _ in range(3)]
        replies_after = time.monotonic() - started
    assert is_error(refused, "NOREPLICAS") and "too many writes waiting" in refused.message, refused
    assert refused_after < timeout / 2, f"the write past the limit was answered after {refused_after:.3f}s"
    for reply in replies[:2]:
        assert is_error(reply, "NOREPLICAS") and "too many" not in reply.message, replies
    assert is_error(replies[2], "NOREPLICAS") and "too many writes waiting" in replies[2].message, replies
    assert timeout * 0.95 <= replies_after <= timeout + TIMING_SLACK_SECONDS, replies_after
    assert int(info(primary, "stats")["rejected_waiting_writes"]) == 2  # c and d, counted

    # the refused writes never ran; the waiting ones may have (outcome unknown)
    standby.start()
    pair.wait_attached()
    pair.wait_caught_up()
    assert call(primary, "EXISTS", "wait:c", "wait:d") == 0
    assert call(primary, "GET", "wait:a") in (None, "a")
    assert call(primary, "GET", "wait:b") in (None, "b")
    assert call(primary, "SET", "wait:e", "e") == "OK"


def test_sync_primary_sigterm_never_acknowledges_what_the_standby_lacks(make_pair):
    """A write waiting for a paused standby when the primary gets SIGTERM is answered with an
    error, never OK: zero RPO holds through a planned stop too. The primary exits 0."""
    pair = make_pair("sync", sync_timeout="30s")
    primary, standby = pair.primary, pair.standby
    with primary.raw() as client:
        assert client.call("SET", "before", "1") == "OK"
    standby.pause()
    try:
        with primary.raw(timeout=20) as waiting:
            waiting.send(encode("SET", "during", "2"))
            wait_until(lambda: int(info(primary, "persistence")["wal_last_appended_lsn"]) >= 2,
                       timeout=10, message="the waiting write was not appended")
            assert primary.stop() == 0
            reply = waiting.read_reply()
            # An error that no client retries by itself: the write ran, its fate is unknown.
            assert is_error(reply, "UNCERTAIN") and "standby" in reply.message, reply
    finally:
        standby.resume()
