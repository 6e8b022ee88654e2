"""Safety at process level: faults that must not give the cluster a wrong primary.

1. ``FENCE`` from a plain client cannot promote the standby nor demote the primary. FENCE
   is how one node tells its peer the epoch it is primary of; a client that sends it (naming
   the standby itself, or the real primary with a far-future epoch) must get an error, and
   roles, epochs and the witness's record must stay as they were.
2. Sync mode: a standby whose data directory was emptied and that was restarted at once (its
   re-seed from the primary still running) must not be promoted when the primary dies then,
   unless it already holds every acknowledged write. Staying a standby is safe; being
   promoted with fewer keys than were acknowledged is data loss.

Run with ``-s`` to see the numbers (keys acknowledged, keys on the standby at promotion).
Run: ``UNDERSTUDY_BIN=.build/debug/understudy python3 -m pytest -q -s tests/test_safety.py``
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from cluster import POLL_TIMEOUT_SECONDS
from harness import (
    call,
    holds_for,
    info,
    understudy_binary,
    understudy_has_witness,
    wait_until,
    wait_until_stable,
)
from resp import Err

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
