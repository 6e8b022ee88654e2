"""Safety at process level: faults that must not give the cluster a wrong primary.

1. ``FENCE`` from a plain client cannot promote the standby nor demote the primary. FENCE
   is how one node tells its peer the epoch it is primary of; a client that sends it (naming
   the standby itself, or the real primary with a far-future epoch) must get an error, and
   roles, epochs and the witness's record must stay as they were.
2. Sync mode: a standby whose data directory was emptied and that was restarted at once (its
   re-seed from the primary still running) must not be promoted when the primary dies then,
   unless it already holds every acknowledged write. Staying a standby is safe; being
   promoted with fewer keys than were acknowledged is data loss.
3. Sync: writes held on a primary cut off from standby and witness (they ran, their replies
   wait for the standby and the lease) must not be answered ``+OK`` unless they are on the
   new primary, nor ``READONLY``/``TRYAGAIN`` (which clients retry) if they were applied:
   once the old primary learns the newer epoch they get ``-UNCERTAIN``.

Run with ``-s`` to see the numbers (keys acknowledged, keys on the standby at promotion,
replies to the held writes).
Run: ``UNDERSTUDY_BIN=.build/debug/understudy python3 -m pytest -q -s tests/test_safety.py``
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from cluster import POLL_TIMEOUT_SECONDS
from harness import (
    HOST,
    call,
    holds_for,
    info,
    understudy_binary,
    understudy_has_witness,
    wait_until,
    wait_until_stable,
)
from resp import Closed, Err, RawClient, encode

pytestmark = [
    pytest.mark.skipif(
        not understudy_has_witness(),
        reason=(f"`{understudy_binary()} witness --help` does not list --nodes: the witness is not built yet"
                if understudy_binary().exists() else f"understudy binary not found at {understudy_binary()}"),
    ),
    pytest.mark.understudy_only,
]

#: How long a node must keep its role after a FENCE it should have refused.
ROLE_WATCH_SECONDS = 2.0
PRIMARY_WATCH_SECONDS = 1.0
#: Load for the re-seed test: SETs of random keys (every one acknowledged, sync mode).
LOAD_REQUESTS = 200_000
LOAD_KEYSPACE = 100_000_000
LOAD_VALUE_BYTES = 200
LOAD_PIPELINE = 16
BENCHMARK_TIMEOUT_SECONDS = 60
RESTART_BOUND_SECONDS = 1.0
CATCH_UP_ATTEMPTS = 2
RESEED_WAIT_SECONDS = 5.0
PROMOTION_WATCH_SECONDS = 20.0
#: Writes sent to the cut-off primary, one per connection, and how long all their replies may take.
HELD_WRITES = 20
HELD_REPLY_TIMEOUT_SECONDS = 10.0
#: Longer than promotion plus step-down, so no held write fails with the sync timeout's NOREPLICAS.
HELD_SYNC_TIMEOUT = "15s"
NOT_EXECUTED = ("TRYAGAIN", "READONLY")


def record(cluster) -> tuple[str, str] | None:
    """(epoch, primary) of the witness's record."""
    status = cluster.witness.status()
    return None if status is None else (status["epoch"], status["primary"])


def dbsize(process) -> int:
    reply = call(process, "DBSIZE", timeout=POLL_TIMEOUT_SECONDS)
    assert isinstance(reply, int), f"DBSIZE answered {reply!r}"
    return reply


# -- 1. FENCE from a client ----------------------------------------------------------------

@pytest.mark.parametrize("target, epoch_offset, named", [
    ("b", 1, "b"),      # the standby told it is primary of the next epoch
    ("b", None, "a"),   # the standby told the real primary holds a far-future epoch
    ("a", None, "b"),   # the primary told the standby holds a far-future epoch
], ids=["standby-names-itself", "standby-names-primary-epoch-99", "primary-names-standby-epoch-99"])
def test_fence_from_a_client_cannot_change_roles(make_cluster, target, epoch_offset, named):
    """A ``FENCE <epoch> <node>`` sent by an ordinary client connection is refused with an
    error. Sent to the standby: for ``ROLE_WATCH_SECONDS`` it stays ``slave``, refuses a write
    with READONLY, ``a`` stays master and acknowledges a write, and the witness's (epoch,
    primary) is unchanged. Sent to the primary: it is still master and acknowledges a write
    ``PRIMARY_WATCH_SECONDS`` later."""
    cluster = make_cluster("async")
    primary, standby = cluster.a, cluster.b
    assert cluster.primary() is primary and cluster.standby() is standby, cluster.describe()
    before = record(cluster)
    epoch = cluster.epoch(primary) + epoch_offset if epoch_offset is not None else 99
    reply = call(cluster.node(target), "FENCE", str(epoch), cluster.listen[named], timeout=5.0)

    if target == "a":
        kept, _ = holds_for(lambda: cluster.role(primary) == "master", PRIMARY_WATCH_SECONDS)
        write = call(primary, "SET", "after-fence", "1", timeout=5.0)
        state = f"reply {reply!r}; a master for {PRIMARY_WATCH_SECONDS}s: {kept}; SET on a: {write!r}; roles {cluster.roles()}"
        assert isinstance(reply, Err), f"FENCE {epoch} {named} from a client was accepted by the primary: {state}"
        assert kept and write == "OK", f"the primary stepped down after a client's FENCE: {state}\n{cluster.describe()}"
        return

    kept, _ = holds_for(lambda: cluster.role(standby) == "slave", ROLE_WATCH_SECONDS)
    refused = call(standby, "SET", "after-fence", "1", timeout=5.0)
    accepted = call(primary, "SET", "after-fence", "1", timeout=5.0)
    after = record(cluster)
    state = (f"reply {reply!r}; b slave for {ROLE_WATCH_SECONDS}s: {kept}; SET on b: {refused!r}; "
             f"SET on a: {accepted!r}; roles {cluster.roles()}; witness (epoch, primary) {before} -> {after}")
    assert isinstance(reply, Err), f"FENCE {epoch} {named} from a client was accepted by the standby: {state}"
    assert kept, f"the standby changed role after a client's FENCE: {state}\n{cluster.describe()}"
    assert isinstance(refused, Err) and refused.message.startswith("READONLY"), f"the standby took a write: {state}"
    assert cluster.role(primary) == "master" and accepted == "OK", f"the primary stopped acknowledging: {state}"
    assert after == before, f"a client's FENCE changed the witness's record: {state}"


def test_fence_with_the_cluster_identity_is_refused_by_a_primary_holding_its_lease(make_cluster):
    """The identity is not a secret: a client may send the primary ``FENCE <epoch+1>
    <standby> <cluster>``. A primary that holds its lease refuses it — by the lease argument
    no voter can have backed a newer epoch meanwhile (the simulator's finding H) — so it
    stays master, acknowledges a write ``PRIMARY_WATCH_SECONDS`` later, and the witness's
    (epoch, primary) is unchanged. (A primary whose lease has lapsed still steps down on a
    newer FENCE: that is how a paused or cut-off old primary learns of its successor.)"""
    cluster = make_cluster("async")
    primary, standby = cluster.a, cluster.b
    assert cluster.primary() is primary and cluster.standby() is standby, cluster.describe()
    status = cluster.witness.status()
    assert status is not None, cluster.describe()
    before = record(cluster)
    fenced = cluster.epoch(primary) + 1
    reply = call(primary, "FENCE", str(fenced), cluster.listen["b"], status["cluster"], timeout=5.0)
    kept, _ = holds_for(lambda: cluster.role(primary) == "master", PRIMARY_WATCH_SECONDS)
    write = call(primary, "SET", "after-stray-fence", "1", timeout=5.0)
    after = record(cluster)
    state = (f"FENCE {fenced} answered {reply!r}; a master for {PRIMARY_WATCH_SECONDS}s: {kept}; SET on a: {write!r}; "
             f"roles {cluster.roles()}; witness (epoch, primary) {before} -> {after}")
    assert isinstance(reply, Err) and "holds its lease" in reply.message, f"a lease-holding primary took the FENCE: {state}"
    assert kept and write == "OK", f"the primary stepped down after a refused FENCE: {state}\n{cluster.describe()}"
    assert cluster.role(standby) == "slave", f"the standby changed role: {state}"
    assert after == before, f"a refused FENCE changed the witness's record: {state}"


# -- 2. sync: a re-seeded standby and the primary's death ------------------------------------

def load(primary) -> subprocess.CompletedProcess:
    """``LOAD_REQUESTS`` pipelined SETs of random keys with redis-benchmark (bounded)."""
    tool = shutil.which("redis-benchmark")
    if tool is None:
        pytest.fail("redis-benchmark not found: apt-get install -y redis-tools")
    return subprocess.run(
        [tool, "-h", "127.0.0.1", "-p", str(primary.port), "-t", "set", "-n", str(LOAD_REQUESTS),
         "-r", str(LOAD_KEYSPACE), "-d", str(LOAD_VALUE_BYTES), "-P", str(LOAD_PIPELINE), "-q"],
        capture_output=True, timeout=BENCHMARK_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)


def reseed(cluster, standby, acknowledged: int) -> tuple[str, int]:
    """kill -9 the standby, empty its data directory and start it again at once; then poll
    for up to ``RESEED_WAIT_SECONDS`` until it is catching up (some keys, fewer than
    acknowledged) or has caught up. Returns (state, its key count). With no key by then the
    state is ``catching up`` if its link is up, else ``not re-seeding`` (a node may refuse
    to follow with no state: the primary's death must still not promote it)."""
    cluster.kill9(standby)
    killed_at = time.monotonic()
    for entry in standby.data_dir.iterdir():
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    cluster.restart(standby)
    restart_seconds = time.monotonic() - killed_at
    assert restart_seconds < RESTART_BOUND_SECONDS, f"the standby took {restart_seconds:.3f}s to come back"

    def progress():
        keys = dbsize(standby)
        if keys >= acknowledged:
            return ("caught up", keys)
        return ("catching up", keys) if keys > 0 else None
    try:
        state, keys = wait_until(progress, RESEED_WAIT_SECONDS, 0.005, "the emptied standby re-seeds")
    except TimeoutError:  # no key applied yet: streaming without applying, or not following
        link = info(standby, timeout=POLL_TIMEOUT_SECONDS).get("master_link_status")
        state, keys = ("catching up" if link == "up" else "not re-seeding"), dbsize(standby)
    print(f"re-seed: standby back {restart_seconds * 1000:.0f} ms after kill -9; {state} "
          f"({keys} of {acknowledged} keys)")
    return state, keys


@pytest.mark.slow
def test_sync_standby_reseeded_quickly_is_not_promoted_with_a_partial_log(make_cluster):
    """Sync mode, ``LOAD_REQUESTS`` acknowledged SETs; their distinct keys (DBSIZE on the
    primary) are on the standby. The standby is killed, its data directory emptied and it is
    restarted within ``RESTART_BOUND_SECONDS``; while it re-seeds (link up, fewer keys) the
    primary is killed. Within ``PROMOTION_WATCH_SECONDS`` either the standby is never master
    (and then refuses a write and the witness does not name it primary), or it is master and
    holds at least every acknowledged key."""
    cluster = make_cluster("sync")
    primary, standby = cluster.a, cluster.b
    assert cluster.primary() is primary, cluster.describe()
    started = time.monotonic()
    result = load(primary)
    assert result.returncode == 0, f"redis-benchmark failed: {result.stderr.decode(errors='replace')[-500:]}"
    acknowledged = dbsize(primary)
    print(f"load: {LOAD_REQUESTS} SETs ({LOAD_VALUE_BYTES}-byte values) in {time.monotonic() - started:.1f}s; "
          f"{acknowledged} distinct keys acknowledged")
    assert acknowledged > LOAD_REQUESTS // 2, f"only {acknowledged} keys after {LOAD_REQUESTS} SETs"
    cluster.wait(lambda: dbsize(standby) == acknowledged, 20.0, "the in-sync standby holds every acknowledged key")

    for _attempt in range(CATCH_UP_ATTEMPTS):
        state, keys_at_kill = reseed(cluster, standby, acknowledged)
        if state != "caught up":
            break
    assert state != "caught up", (f"the emptied standby caught up before the primary could be killed in "
                                  f"{CATCH_UP_ATTEMPTS} attempts: raise LOAD_REQUESTS or LOAD_VALUE_BYTES")
    killed_at = time.monotonic()
    cluster.kill9(primary)

    never_master, _ = holds_for(lambda: cluster.role(standby) != "master", PROMOTION_WATCH_SECONDS, interval=0.02)
    if never_master:
        status = cluster.witness.status()
        refused = call(standby, "SET", "after-failover", "1", timeout=5.0)
        print(f"keys acknowledged {acknowledged}; standby had {keys_at_kill} when the primary was killed; "
              f"not promoted within {PROMOTION_WATCH_SECONDS:.0f}s; witness record {status}")
        assert status is None or status["primary"] != cluster.listen["b"], (
            f"the witness names the re-seeding standby primary although it does not say master: {status}")
        assert isinstance(refused, Err), f"the unpromoted standby acknowledged a write: {refused!r}"
        return
    promoted_after = time.monotonic() - killed_at
    keys = wait_until_stable(lambda: dbsize(standby), 0.5, 10.0, message="the promoted standby's DBSIZE")
    print(f"keys acknowledged {acknowledged}; standby had {keys_at_kill} when the primary was killed; "
          f"promoted {promoted_after * 1000:.0f} ms later holding {keys} keys")
    assert keys >= acknowledged, (
        f"the standby was promoted with {keys} keys but {acknowledged} were acknowledged "
        f"({acknowledged - keys} acknowledged writes lost)\n{cluster.describe()}")


# -- 3. sync: writes held when the primary is deposed ------------------------------------------

def held_reply(client: RawClient, deadline: float):
    """The reply on ``client`` (an ``Err`` for an error), or the name of the exception if none
    came before ``deadline``."""
    client.timeout = max(0.1, deadline - time.monotonic())
    try:
        return client.read_reply()
    except (Closed, OSError, TimeoutError) as error:
        return type(error).__name__


def test_writes_held_when_the_primary_is_deposed_get_uncertain_never_ok_or_readonly(make_cluster):
    """Sync mode with proxies. The primary is partitioned from standby and witness, then at once
    ``HELD_WRITES`` SETs of distinct keys go to it directly, one per connection, replies unread.
    Once the standby is promoted the partition is healed (the old primary learns the newer
    epoch). Every write gets a reply within ``HELD_REPLY_TIMEOUT_SECONDS``; a ``+OK`` only for a
    key that holds its value on the new primary; an error only ``UNCERTAIN ...``, or ``TRYAGAIN``
    / ``READONLY`` for a key absent from the new primary. No UNCERTAIN at all is reported (every
    write arrived after the lease lapsed), not failed."""
    cluster = make_cluster("sync", proxies=True, sync_timeout=HELD_SYNC_TIMEOUT)
    old = cluster.primary()
    new = cluster.other(old)
    assert call(old, "SET", "held:before", "1", timeout=5.0) == "OK", cluster.describe()
    writes = {f"held:{index}": f"held-{index}" for index in range(HELD_WRITES)}
    clients: list[RawClient] = []
    try:
        clients.extend(RawClient(HOST, old.port, timeout=HELD_REPLY_TIMEOUT_SECONDS) for _ in writes)
        cluster.partition(old)
        for client, (key, value) in zip(clients, writes.items()):
            client.send(encode("SET", key, value))
        cluster.wait_for_role(new, "master", cluster.failure_timeout + 10.0)
        cluster.heal(old)
        deadline = time.monotonic() + HELD_REPLY_TIMEOUT_SECONDS
        replies = {key: held_reply(client, deadline) for client, key in zip(clients, writes)}
    finally:
        for client in clients:
            client.close()
    on_new = dict(zip(writes, call(new, "MGET", *writes, timeout=5.0)))

    def kind(reply) -> str:
        if reply == "OK":
            return "OK"
        if isinstance(reply, Err) and reply.message.startswith(("UNCERTAIN", *NOT_EXECUTED)):
            return reply.message.split(" ", 1)[0]
        return "other"
    kinds = {key: kind(reply) for key, reply in replies.items()}
    counts = {name: list(kinds.values()).count(name) for name in ("OK", "UNCERTAIN", *NOT_EXECUTED, "other")}
    on_new_count = sum(value is not None for value in on_new.values())
    example = next((reply.message for reply in replies.values() if isinstance(reply, Err)), None)
    print(f"held writes on the deposed primary: {counts}; {on_new_count} of {HELD_WRITES} on the new primary; "
          f"first error {example!r}")
    if counts["UNCERTAIN"] == 0:
        print("no UNCERTAIN: every held write was refused as not executed (the lease had lapsed before it arrived)")
    state = lambda key: f"{key}: reply {replies[key]!r}, on the new primary {on_new[key]!r}"  # noqa: E731
    lost_ok = [state(key) for key in writes if kinds[key] == "OK" and on_new[key] != writes[key]]
    assert not lost_ok, f"acknowledged writes missing on the new primary: {lost_ok[:3]}\n{cluster.describe()}"
    other = [state(key) for key in writes if kinds[key] == "other"]
    assert not other, f"held writes answered neither OK, UNCERTAIN nor not-executed: {other[:3]}"
    applied = [state(key) for key in writes if kinds[key] in NOT_EXECUTED and on_new[key] is not None]
    assert not applied, f"writes answered 'not executed' (clients retry them) were applied: {applied[:3]}"


def test_witness_replaced_on_an_empty_directory_recovers_the_record_and_failover_works(make_cluster):
    """The runbook's "replacing the witness" (issue 9, item 10): the witness loses its disk
    and is started again on an empty directory while both nodes run. Writes go on (the
    standby's echoes keep the lease); the new witness records the running primary — same
    epoch, same cluster identity, never a stale or new cluster — and a later kill -9 of
    the primary still fails over to the standby (sync mode: once the primary has recorded
    it in sync again), with every acknowledged write on the new primary."""
    cluster = make_cluster("sync")
    primary = cluster.primary()
    standby = cluster.other(primary)
    before = cluster.witness.status()
    assert before is not None, cluster.describe()
    cluster.kill_witness()
    for path in cluster.witness.data_dir.iterdir():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    cluster.restart_witness()
    acknowledged = {}
    for index in range(50):  # bounded: writes go on while the witness recovers its record
        key = f"witness-replaced:{index}"
        if call(primary, "SET", key, str(index), timeout=5.0) == "OK":
            acknowledged[key] = str(index)
    assert acknowledged, f"no write was acknowledged while the witness recovered: {cluster.describe()}"

    def recovered_in_sync() -> bool:
        status = cluster.witness.status()
        return (status is not None and status["primary"] == before["primary"] and status["epoch"] == before["epoch"]
                and status["cluster"] == before["cluster"] and status["in_sync"] == "1")
    cluster.wait(recovered_in_sync, 20.0, "the new witness records the running primary, its epoch and identity, in sync")

    cluster.kill9(primary)
    cluster.wait_for_role(standby, "master", 20.0)
    on_new = dict(zip(acknowledged, call(standby, "MGET", *acknowledged, timeout=5.0)))
    lost = {key for key, value in acknowledged.items() if on_new[key] != value}
    assert not lost, f"acknowledged writes missing on the new primary: {sorted(lost)[:5]} ({len(lost)})"
