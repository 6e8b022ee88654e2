"""``IDEMPOTENT <key> <command> [arguments…]`` through redis-py, as an application would send
it: a write runs at most once per key — across a restart (the dedup entry is in the WAL
record with the write's effects), a snapshot, and a failover (the standby replays the same
record). A repeat returns the stored reply; the same key with another command is an error.

Run: ``UNDERSTUDY_BIN=.build/debug/understudy python3 -m pytest -q tests/test_idempotent.py``
"""

from __future__ import annotations

import pytest
import redis

pytestmark = pytest.mark.understudy_only


def test_a_repeat_returns_the_stored_reply_and_runs_nothing(make_server):
    node = make_server()
    client = node.client()
    assert client.execute_command("IDEMPOTENT", "op-1", "INCRBY", "balance", "10") == 10
    assert client.execute_command("IDEMPOTENT", "op-1", "INCRBY", "balance", "10") == 10
    assert client.execute_command("IDEMPOTENT", "op-2", "INCRBY", "balance", "10") == 20
    assert client.get("balance") == "20"
    with pytest.raises(redis.ResponseError, match="IDEMPOTENT"):
        client.execute_command("IDEMPOTENT", "op-1", "INCRBY", "balance", "99")
    with pytest.raises(redis.ResponseError, match="IDEMPOTENT"):
        client.execute_command("IDEMPOTENT", "op-3", "GET", "balance")
    assert client.get("balance") == "20", "nothing else ran"


def test_applied_once_across_a_kill_9(make_server):
    node = make_server()
    client = node.client()
    assert client.execute_command("IDEMPOTENT", "append-1", "APPEND", "log", "a") == 1
    node.kill()
    node.start()
    client = node.client()
    assert client.execute_command("IDEMPOTENT", "append-1", "APPEND", "log", "a") == 1, "replayed from the WAL"
    assert client.get("log") == "a"


def test_applied_once_when_only_a_snapshot_holds_the_entry(make_server):
    """The WAL segment with the IDEMPOTENT record is pruned once a snapshot covers it: the
    entry must come back from the snapshot."""
    node = make_server(snapshot_threshold_bytes=1, wal_segment_bytes=4096, wal_retention_bytes=0)
    client = node.client()
    assert client.execute_command("IDEMPOTENT", "once", "INCR", "counter") == 1
    wal = node.data_dir / "wal"

    def first_record_pruned():
        client.set("filler", "x" * 200)
        return min(int(path.stem.split("-")[-1]) for path in wal.iterdir() if path.suffix == ".wal") > 1

    deadline_writes = 0
    while not first_record_pruned():
        deadline_writes += 1
        assert deadline_writes < 2_000, f"the first WAL segment was never pruned: {sorted(p.name for p in wal.iterdir())}"
    node.kill()
    node.start()
    client = node.client()
    assert client.execute_command("IDEMPOTENT", "once", "INCR", "counter") == 1, "restored from the snapshot"
    assert client.get("counter") == "1"


@pytest.mark.slow
def test_applied_once_across_a_failover(make_cluster):
    cluster = make_cluster("sync")
    primary = cluster.primary()
    client = primary.client()
    assert client.execute_command("IDEMPOTENT", "transfer-7", "INCR", "counter") == 1
    cluster.kill9(primary)
    promoted = cluster.wait_for_new_primary(primary, timeout=10.0)
    survivor = promoted.client()

    def retried():
        try:
            return survivor.execute_command("IDEMPOTENT", "transfer-7", "INCR", "counter")
        except (redis.ResponseError, redis.ConnectionError):
            return None

    reply = cluster.wait(retried, timeout=10.0, message="the new primary never answered the retry")
    assert reply == 1, "the retry on the new primary got the stored reply"
    assert survivor.get("counter") == "1"
