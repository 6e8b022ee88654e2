"""Automatic failover at process level: a witness and two data nodes (tests/cluster.py), real
faults, real clients.

1. kill -9 the primary under a writer: the standby takes over (RTO printed, bounded); sync
   mode loses no acknowledged write; the old primary rejoins as standby and converges.
2. SIGSTOP the primary past the failure timeout: the standby takes over; after SIGCONT the
   old primary acknowledges nothing (not even on a connection opened before the pause) and
   rejoins as standby. Async: what it had that the new primary lacks is cut off, counted in
   INFO and kept in its lost-writes file.
3. Partition the primary from standby and witness while a client still reaches it: it stops
   acknowledging within its lease, the standby is promoted within the failure timeout (plus
   slack), and after healing the old primary rejoins as standby.
4. kill -9 the witness: writes go on; restarted, its persisted state still allows a failover.
5. Sync: kill -9 the standby: writes pause about a failure timeout, then go on; the
   restarted standby catches up and is recorded in sync again.
6. A fresh cluster takes the hinted primary; after a failover and a restart of all three
   processes the persisted state (not the hint) decides.

Timing: ``--heartbeat-interval 100ms --failure-timeout 1s --lease 500ms``. Targets (about 1 s
for a crash, failure timeout + 0.5 s for a pause or partition) are printed, not asserted;
the assertions use generous bounds, since CI machines are noisy. Run with ``-s`` to see
them (``RTO kill9 sync: 412 ms`` ...).

Every acknowledgement is recorded with the time its ``+OK`` was read and the node that sent
it (``writers.FailoverWriter``), so "acknowledged after it was superseded" is a count that
must be 0.

The whole module is skipped until ``understudy witness --help`` lists ``--nodes``.
Run: ``UNDERSTUDY_BIN=.build/debug/understudy python3 -m pytest -q -s tests/test_failover.py``
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from cluster import read_lost_writes
from harness import (
    call,
    info,
    understudy_binary,
    understudy_has_witness,
    wait_values,
)
from resp import Closed, Err
from writers import FailoverWriter, acks_from, compare_with_writers

pytestmark = [
    pytest.mark.skipif(
        not understudy_has_witness(),
        reason=(f"`{understudy_binary()} witness --help` does not list --nodes: the witness is not built yet"
                if understudy_binary().exists() else f"understudy binary not found at {understudy_binary()}"),
    ),
    pytest.mark.understudy_only,
    pytest.mark.slow,
]

MODES = ["sync", "async"]
#: Asserted bound on a crash failover's RTO (the target, about 1 s, is only printed).
RTO_BOUND_SECONDS = 5.0
#: Added to the failure timeout for the asserted bound on promotion after a pause or a
#: partition, and on a sync primary's pause after losing its standby.
TIMING_SLACK_SECONDS = 4.0
#: A superseded primary must have stopped within its lease; this is for the client's
#: timestamps (the ``+OK`` is stamped when read).
LEASE_SLACK_SECONDS = 0.2
FAILOVER_TIMEOUT_SECONDS = 15.0
CONVERGE_TIMEOUT_SECONDS = 20.0
WRITER_MAX_OPERATIONS = 200_000
WRITER_MAX_SECONDS = 25.0
ACKS_BEFORE_FAULT = 100
ACKS_AFTER_FAILOVER = 50
LATE_WRITES = 20


# -- helpers ---------------------------------------------------------------------------------

@contextmanager
def writing(cluster, prefix: str, count: int = 2, targets: dict | None = None, reply_timeout: float = 1.0):
    """``count`` FailoverWriters (on ``targets``, default both nodes) running for the body of
    the ``with``; stopped and joined at its end."""
    writers = [FailoverWriter(f"{prefix}{index}", dict(targets or cluster.nodes), WRITER_MAX_OPERATIONS,
                              WRITER_MAX_SECONDS, reply_timeout=reply_timeout) for index in range(count)]
    stop = threading.Event()
    threads = [threading.Thread(target=writer.run, args=(stop,), daemon=True) for writer in writers]
    for thread in threads:
        thread.start()
    try:
        yield writers
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=reply_timeout + 10.0)
    assert not any(thread.is_alive() for thread in threads), "writer threads did not stop"


def wait_acks(cluster, writers, node, count: int, after: float = float("-inf"), timeout: float = 10.0) -> list:
    """Until the writers hold ``count`` acknowledgements from ``node`` after ``after``."""
    name = cluster.name_of(node)
    try:
        return cluster.wait(lambda: (acks := acks_from(writers, name, after)) and len(acks) >= count and acks,
                            timeout, f"{count} writes acknowledged by {name}")
    except AssertionError as error:
        failures = [failure for writer in writers for failure in writer.failures[-3:]]
        raise AssertionError(f"{error}\nwriters' refusals: {refusals(writers)}; last failures: {failures}") from None


def refusals(writers) -> dict:
    total = {}
    for writer in writers:
        for kind, number in writer.refusals.items():
            total[kind] = total.get(kind, 0) + number
    return total


def write_directly(process, prefix: str, count: int) -> dict[str, str]:
    """SET ``count`` fresh keys one by one on one connection; every one must be acknowledged."""
    written = {}
    with process.raw(timeout=10.0) as client:
        for index in range(count):
            key, value = f"{prefix}:{index}", f"{prefix}-{index}"
            reply = client.call("SET", key, value)
            assert reply == "OK", f"SET {key} answered {reply!r}"
            written[key] = value
    return written


def acknowledgements_on(client, prefix: str, count: int) -> tuple[int, list]:
    """Send up to ``count`` SETs on ``client`` one by one; return how many got ``+OK`` and
    the replies (stops at a closed connection or a timeout, which acknowledge nothing)."""
    acknowledged, replies = 0, []
    for index in range(count):
        try:
            reply = client.call("SET", f"{prefix}:{index}", f"{prefix}-{index}")
        except (Closed, OSError, TimeoutError) as error:
            replies.append(f"{type(error).__name__}")
            break
        replies.append(reply)
        if reply == "OK":
            acknowledged += 1
    return acknowledged, replies


def assert_superseded_refusal(replies) -> None:
    """A superseded primary answers a write with READONLY or TRYAGAIN (or drops the
    connection); anything else is a bug even if it is not +OK."""
    for reply in replies:
        if isinstance(reply, Err):
            assert reply.message.startswith(("READONLY", "TRYAGAIN")), f"unexpected refusal {reply.message!r}"


def assert_all_acknowledged_on(process, writers, what: str) -> None:
    missing, foreign = compare_with_writers(process, writers)
    assert not missing, f"{what}: {len(missing)} acknowledged writes missing or wrong, first {missing[:5]}"
    assert not foreign, f"{what}: keys hold values never written: {foreign[:5]}"


def acknowledged_by(writers, name: str) -> dict[str, str]:
    return {ack.key: ack.value for writer in writers for ack in writer.acks_from(name)}


def check_rewind_report(cluster, node, lost_keys) -> dict:
    """The rejoined ``node`` reports its cut-off suffix in ``INFO replication`` and keeps it
    in a JSON-lines file under ``DATA_DIR/lost-writes/``; the count, LSN range and file agree,
    and every key in ``lost_keys`` is in the file. Returns the INFO fields."""
    process = cluster.node(node)
    if lost_keys:
        fields = cluster.wait(lambda: (f := cluster.rewind(process)) and int(f.get("understudy_rewind_records", "0")) > 0
                              and f, 10.0, f"{cluster.name_of(node)} reports the records it cut off")
    else:
        fields = cluster.rewind(process)
    count = int(fields.get("understudy_rewind_records", "0"))
    if count == 0:
        return fields
    first, last = int(fields["understudy_rewind_first_lsn"]), int(fields["understudy_rewind_last_lsn"])
    assert last - first + 1 == count, f"rewind of {count} records, LSNs {first}..{last}: {fields}"
    path = Path(fields["understudy_rewind_file"])
    path = path if path.is_absolute() else process.data_dir / path
    assert path.resolve().is_relative_to((process.data_dir / "lost-writes").resolve()), f"{path} is not under lost-writes/"
    records = read_lost_writes(path)
    assert len(records) == count, f"{path} holds {len(records)} records, INFO says {count}"
    lsns = [record["lsn"] for record in records if isinstance(record, dict) and "lsn" in record]
    if lsns:
        assert lsns == list(range(first, last + 1)), f"{path}: LSNs {lsns[:5]}... not {first}..{last}"
    text = path.read_text()
    unreported = [key for key in lost_keys if key not in text]
    assert not unreported, f"{len(unreported)} lost acknowledged writes are not in {path}: {unreported[:5]}"
    assert count >= len(lost_keys), f"{len(lost_keys)} acknowledged writes lost but only {count} records cut"
    return fields


def check_losses(cluster, new, old, writers, mode: str) -> list:
    """Sync: every acknowledged write is on the new primary. Async: every write the new
    primary acknowledged is; the rest that are missing came from the old primary and must be
    reported by it once it has rejoined (call after it has). Returns the lost keys."""
    missing, foreign = compare_with_writers(new, writers)
    assert not foreign, f"keys hold values never written: {foreign[:5]}"
    if mode == "sync":
        assert not missing, (f"sync: {len(missing)} acknowledged writes are not on the new primary, "
                             f"first {missing[:5]}")
    by_new = acknowledged_by(writers, cluster.name_of(new))
    lost_from_new = [entry for entry in missing if entry[0] in by_new]
    assert not lost_from_new, f"writes acknowledged by the new primary are missing on it: {lost_from_new[:5]}"
    lost = [key for key, _value, _expected in missing]
    check_rewind_report(cluster, old, lost)
    return lost


def wait_converged(cluster, new, old, writers, mode: str) -> None:
    """The rejoined ``old`` is a standby that follows ``new``: a fresh write shows up on it, and
    so does everything the new primary acknowledged (in sync mode: everything acknowledged)."""
    cluster.wait_for_role(old, "slave", CONVERGE_TIMEOUT_SECONDS)
    marker = f"converged:{time.monotonic_ns()}"
    cluster.wait(lambda: call(new, "SET", marker, "yes", timeout=5.0) == "OK", 10.0, "the new primary takes a write")
    expected = {marker: "yes", **acknowledged_by(writers, cluster.name_of(new))}
    if mode == "sync":
        for writer in writers:
            expected.update(writer.acknowledged)
    wait_values(old, expected, CONVERGE_TIMEOUT_SECONDS, "the rejoined old primary has the new primary's writes")


def wait_caught_up(cluster, primary, standby, timeout: float = 15.0) -> None:
    """Until the standby has applied every record the primary has written."""
    def caught_up() -> bool:
        target = int(info(primary, "persistence")["wal_last_appended_lsn"])
        return int(info(standby)["understudy_applied_lsn"]) >= target
    cluster.wait(caught_up, timeout, "the standby applied everything the primary wrote")


# -- 1. kill -9 the primary ------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_kill9_primary_standby_takes_over_and_old_primary_rejoins(make_cluster, mode):
    cluster = make_cluster(mode)
    old = cluster.primary()
    new = cluster.other(old)
    with writing(cluster, f"kill9-{mode}-") as writers:
        wait_acks(cluster, writers, old, ACKS_BEFORE_FAULT)
        killed_at = time.monotonic()
        cluster.kill9(old)
        cluster.wait_for_new_primary(old, FAILOVER_TIMEOUT_SECONDS)
        first = wait_acks(cluster, writers, new, 1, after=killed_at, timeout=FAILOVER_TIMEOUT_SECONDS)[0]
        wait_acks(cluster, writers, new, ACKS_AFTER_FAILOVER, after=killed_at)
    rto = first.at - killed_at
    print(f"RTO kill9 {mode}: {rto * 1000:.0f} ms (target ~1000 ms); "
          f"{sum(len(w.acks) for w in writers)} acknowledged; refusals {refusals(writers)}")
    assert rto < RTO_BOUND_SECONDS, f"kill -9 failover took {rto:.3f}s"
    epoch_new = cluster.epoch(new)

    cluster.restart(old)
    wait_converged(cluster, new, old, writers, mode)
    lost = check_losses(cluster, new, old, writers, mode)
    print(f"kill9 {mode}: {len(lost)} acknowledged writes lost (all reported by the old primary)")
    assert cluster.epoch(old) == epoch_new, "the rejoined node follows the new primary's epoch"


# -- 2. SIGSTOP the primary ------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_paused_primary_is_superseded_and_acknowledges_nothing_after(make_cluster, mode):
    # async: the peer links go through proxies, to give the old primary writes the standby lacks
    cluster = make_cluster(mode, proxies=(mode == "async"))
    old = cluster.primary()
    new = cluster.other(old)
    old_name = cluster.name_of(old)
    diverged: dict[str, str] = {}
    stale = old.raw(timeout=5.0)  # opened before the pause
    try:
        assert stale.call("SET", "stale:before", "1") == "OK"
        with writing(cluster, f"pause-{mode}-") as writers:
            wait_acks(cluster, writers, old, ACKS_BEFORE_FAULT)
            if mode == "async":
                # Cut only the peer links: the primary keeps its lease through the witness and
                # acknowledges on its own disk what the standby never receives.
                cluster.partition_link(old, new)
                diverged = write_directly(old, "diverged", 20)
            stopped_at = time.monotonic()
            cluster.stop(old)
            if mode == "async":
                cluster.heal_link(old, new)  # what crossed nothing is gone; the pause is the fault now
            cluster.wait_for_new_primary(old, cluster.failure_timeout + FAILOVER_TIMEOUT_SECONDS)
            first_new = wait_acks(cluster, writers, new, 1, after=stopped_at, timeout=FAILOVER_TIMEOUT_SECONDS)[0]

            cluster.cont(old)
            stale_acks, stale_replies = acknowledgements_on(stale, "stale:after", LATE_WRITES)
            with old.raw(timeout=5.0) as fresh:
                fresh_acks, fresh_replies = acknowledgements_on(fresh, "fresh:after", LATE_WRITES)
            cluster.wait_for_role(old, "slave", CONVERGE_TIMEOUT_SECONDS)
            # A demoted primary closes its clients' connections, so that they re-discover.
            assert stale.is_closed_by_peer(timeout=5.0), "the superseded primary kept a client connection open"
            wait_acks(cluster, writers, new, ACKS_AFTER_FAILOVER, after=stopped_at)
    finally:
        stale.close()
    rto = first_new.at - stopped_at
    print(f"RTO SIGSTOP {mode}: {rto * 1000:.0f} ms (target ~{(cluster.failure_timeout + 0.5) * 1000:.0f} ms); "
          f"after SIGCONT: stale connection {stale_replies[:3]}, fresh connection {fresh_replies[:3]}")
    late = acks_from(writers, old_name, after=first_new.at)
    assert stale_acks == 0, f"the superseded primary acknowledged {stale_acks} writes on a connection from before the pause"
    assert fresh_acks == 0, f"the superseded primary acknowledged {fresh_acks} writes on a new connection"
    assert not late, f"the superseded primary acknowledged {len(late)} writes after the new one's first: {late[:3]}"
    assert_superseded_refusal(stale_replies + fresh_replies)
    assert call(new, "EXISTS", "stale:after:0", "fresh:after:0") == 0

    wait_converged(cluster, new, old, writers, mode)
    lost = check_losses(cluster, new, old, writers, mode)
    if mode == "async":
        still_there = [key for key in diverged if call(new, "GET", key) is not None]
        assert not still_there, f"setup: the standby received writes made while its link was cut: {still_there[:3]}"
        kept = [key for key in diverged if call(old, "GET", key) is not None]
        assert not kept, f"the rejoined node still serves writes it should have cut off: {kept[:3]}"
        # acknowledged by the old primary alone, then cut off when it rejoined: each one reported
        fields = check_rewind_report(cluster, old, sorted(set(lost) | set(diverged)))
        print(f"SIGSTOP async: {len(lost) + len(diverged)} acknowledged writes cut off and reported: {fields}")


# -- 3. partition the primary -----------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_partitioned_primary_stops_acknowledging_within_its_lease(make_cluster, mode):
    cluster = make_cluster(mode, proxies=True)
    old = cluster.primary()
    new = cluster.other(old)
    old_name = cluster.name_of(old)
    with writing(cluster, f"partition-{mode}-", count=1) as failover_writers, \
            writing(cluster, f"stubborn-{mode}-", count=1, targets={old_name: old}) as stubborn:
        writers = failover_writers + stubborn
        wait_acks(cluster, writers, old, ACKS_BEFORE_FAULT)
        cut_at = time.monotonic()
        cluster.partition(old)
        promoted_at = cluster.wait_for_role(new, "master", cluster.failure_timeout + FAILOVER_TIMEOUT_SECONDS)
        first_new = wait_acks(cluster, failover_writers, new, 1, after=cut_at, timeout=FAILOVER_TIMEOUT_SECONDS)[0]
        # the client that still reaches the old primary keeps trying well past the new one's first ack
        tried_by_then = len(stubborn[0].sent)
        cluster.wait(lambda: len(stubborn[0].sent) >= tried_by_then + 3, FAILOVER_TIMEOUT_SECONDS,
                     "the stubborn client keeps writing to the partitioned primary")
        wait_acks(cluster, failover_writers, new, ACKS_AFTER_FAILOVER, after=cut_at)
    promotion = promoted_at - cut_at
    last_old_ack = max((ack.at for ack in acks_from(writers, old_name)), default=cut_at)
    print(f"partition {mode}: standby promoted after {promotion * 1000:.0f} ms "
          f"(target ~{(cluster.failure_timeout + 0.5) * 1000:.0f} ms), clients wrote again after "
          f"{(first_new.at - cut_at) * 1000:.0f} ms; the old primary's last ack {(last_old_ack - cut_at) * 1000:.0f} ms "
          f"after the cut; stubborn client refusals {refusals(stubborn)}")
    late = acks_from(writers, old_name, after=first_new.at)
    assert not late, f"split brain: the old primary acknowledged {len(late)} writes after the new one's first: {late[:3]}"
    past_lease = acks_from(writers, old_name, after=cut_at + cluster.lease + LEASE_SLACK_SECONDS)
    assert not past_lease, (f"the old primary acknowledged {len(past_lease)} writes more than lease "
                            f"+ {LEASE_SLACK_SECONDS}s after it was cut off: {past_lease[:3]}")
    assert promotion < cluster.failure_timeout + TIMING_SLACK_SECONDS, f"promotion took {promotion:.3f}s"

    cluster.heal(old)
    wait_converged(cluster, new, old, writers, mode)
    lost = check_losses(cluster, new, old, writers, mode)
    print(f"partition {mode}: {len(lost)} acknowledged writes lost (all reported by the old primary)")


# -- 4. lose the witness ---------------------------------------------------------------------

def keep_writing(process, prefix: str, seconds: float, max_operations: int = 50_000) -> dict[str, str]:
    """SET fresh keys one by one for ``seconds`` (bounded by ``max_operations``); every one
    must be acknowledged."""
    written = {}
    deadline = time.monotonic() + seconds
    with process.raw(timeout=10.0) as client:
        for index in range(max_operations):
            if time.monotonic() >= deadline:
                break
            key, value = f"{prefix}:{index}", f"{prefix}-{index}"
            reply = client.call("SET", key, value)
            assert reply == "OK", f"after {index} writes, SET {key} answered {reply!r}"
            written[key] = value
    return written


@pytest.mark.parametrize("mode", MODES)
def test_witness_loss_keeps_writes_going_and_its_restart_keeps_failover_working(make_cluster, mode):
    cluster = make_cluster(mode)
    primary = cluster.primary()
    standby = cluster.other(primary)
    cluster.kill_witness()
    written = keep_writing(primary, "no-witness", seconds=2.0)
    assert len(written) >= 10, f"only {len(written)} writes in 2 s without the witness"
    assert cluster.role(primary) == "master" and cluster.role(standby) == "slave"

    cluster.restart_witness()
    assert cluster.wait_ready() is primary, "restarting the witness must not move the primary"
    written.update(keep_writing(primary, "witness-back", seconds=1.0))
    wait_caught_up(cluster, primary, standby)

    killed_at = time.monotonic()
    cluster.kill9(primary)
    cluster.wait_for_new_primary(primary, cluster.failure_timeout + FAILOVER_TIMEOUT_SECONDS)
    cluster.wait(lambda: call(standby, "SET", "after-failover", "1", timeout=5.0) == "OK", FAILOVER_TIMEOUT_SECONDS,
                 "the new primary acknowledges a write")
    print(f"witness restart, then kill9 {mode}: the standby writes again after "
          f"{(time.monotonic() - killed_at) * 1000:.0f} ms")
    wait_values(standby, written, 10.0, "every write acknowledged before the failover")


# -- 5. sync: lose the standby ---------------------------------------------------------------

def test_sync_standby_kill9_pauses_writes_briefly_then_it_catches_up(make_cluster):
    cluster = make_cluster("sync")
    primary = cluster.primary()
    standby = cluster.other(primary)
    name = cluster.name_of(primary)
    # a long reply timeout: a write held while the primary gives up on its standby must be
    # answered, not abandoned
    with writing(cluster, "standby-kill-", count=1, targets={name: primary}, reply_timeout=15.0) as writers:
        wait_acks(cluster, writers, primary, ACKS_BEFORE_FAULT)
        killed_at = time.monotonic()
        cluster.kill9(standby)
        wait_acks(cluster, writers, primary, ACKS_AFTER_FAILOVER, after=killed_at,
                  timeout=cluster.failure_timeout + FAILOVER_TIMEOUT_SECONDS)
    times = [killed_at] + [ack.at for ack in acks_from(writers, name, after=killed_at)]
    stall = max(later - earlier for earlier, later in zip(times, times[1:]))
    print(f"sync standby kill9: writes stalled {stall * 1000:.0f} ms at most "
          f"(target ~{cluster.failure_timeout * 1000:.0f} ms + a little)")
    assert not writers[0].failures, f"writes must pause, not fail: {writers[0].failures[:3]}"
    assert stall < cluster.failure_timeout + TIMING_SLACK_SECONDS, f"writes stalled {stall:.3f}s"

    cluster.restart(standby)
    cluster.wait_for_role(standby, "slave", CONVERGE_TIMEOUT_SECONDS)
    assert call(primary, "SET", "after-standby-restart", "1", timeout=10.0) == "OK"
    wait_values(standby, {"after-standby-restart": "1", **writers[0].acknowledged}, CONVERGE_TIMEOUT_SECONDS,
                "the restarted standby catches up")
    cluster.wait_ready()  # attached again and, by the witness's record, in sync


# -- 6. bootstrap and persisted state -----------------------------------------------------------

def test_fresh_cluster_takes_the_hint_and_a_full_restart_keeps_the_persisted_primary(make_cluster):
    cluster = make_cluster("sync")
    assert cluster.primary() is cluster.a, f"a new cluster's primary is the node hinted --role primary: {cluster.roles()}"
    assert cluster.standby() is cluster.b
    first_epoch = cluster.epoch(cluster.a)
    cluster.wait(lambda: cluster.epoch(cluster.b) == first_epoch, 10.0, "both nodes are in the same epoch")
    assert call(cluster.a, "SET", "bootstrap:1", "a", timeout=10.0) == "OK"

    cluster.kill9(cluster.a)
    cluster.wait_for_new_primary(cluster.a, FAILOVER_TIMEOUT_SECONDS)
    cluster.wait(lambda: call(cluster.b, "SET", "bootstrap:2", "b", timeout=5.0) == "OK", FAILOVER_TIMEOUT_SECONDS,
                 "the new primary acknowledges a write")
    failover_epoch = cluster.epoch(cluster.b)
    assert failover_epoch > first_epoch, f"a failover must start a new epoch ({first_epoch} -> {failover_epoch})"
    cluster.restart(cluster.a)
    cluster.wait_for_role(cluster.a, "slave", CONVERGE_TIMEOUT_SECONDS)
    wait_values(cluster.a, {"bootstrap:2": "b"}, CONVERGE_TIMEOUT_SECONDS, "the rejoined node follows b")

    # Everything down, then up in the order that favours the hint: witness, a (still
    # started with --role primary), b. The persisted record must win.
    for process in (cluster.b, cluster.a, cluster.witness):
        cluster.kill9(process)
    cluster.start()
    assert cluster.primary() is cluster.b, f"after a full restart the hint overrode the persisted primary: {cluster.roles()}"
    assert cluster.standby() is cluster.a
    assert cluster.epoch(cluster.b) >= failover_epoch
    wait_values(cluster.b, {"bootstrap:1": "a", "bootstrap:2": "b"}, 10.0, "acknowledged writes after a full restart")
