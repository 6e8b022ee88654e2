"""Disk faults against real processes (issue 13 item 5; docs/security.md, "Disk faults").

- A full disk: the data directory (of a lone node, or of a sync primary) lives on a 24 MiB tmpfs (``mount -t tmpfs``; skipped
  with the reason when mounting is not permitted). A ballast file takes most of it, writes
  fill the rest: a write then gets ``-ERR write refused: disk full (ENOSPC)`` at once, reads
  are served, SIGTERM finishes, and once the ballast is removed writes succeed again
  without a restart; a restart recovers every acknowledged key.
- A failing ``fdatasync``: an LD_PRELOAD shim (built here with gcc) makes ``fdatasync`` and
  ``fsync`` fail with EIO while a trigger file exists. The primary stops acknowledging,
  never reports the failed writes as done, and the standby takes over.
- A corrupt file on a stopped standby (a byte flipped in the middle of a WAL segment or
  its snapshot): the standby sets it aside and catches up from the primary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cluster import Cluster
from harness import ServerProcess, call, info, wait_until
from resp import Err

pytestmark = [pytest.mark.slow, pytest.mark.understudy_only]

TMPFS_BYTES = 24 << 20
VALUE_BYTES = 32 << 10
#: A write on a full disk must be answered within this (no reply left hanging).
REPLY_DEADLINE_SECONDS = 5.0
SIGTERM_DEADLINE_SECONDS = 10.0
TAKEOVER_DEADLINE_SECONDS = 15.0


@pytest.fixture
def small_disk(tmp_path):
    """A 24 MiB tmpfs mounted for this test, unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) on this machine: the full-disk test needs a small tmpfs")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({result.stderr.strip()}): the full-disk test needs one")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def _node_on(disk: Path, work_dir: Path, **options) -> ServerProcess:
    """A standalone node whose data directory is on ``disk`` (its log file stays off it)."""
    node = ServerProcess("understudy", work_dir, snapshot_threshold_bytes=1 << 30, **options)
    node.data_dir = disk / "data"
    node.data_dir.mkdir(exist_ok=True)
    return node


def _ballast(disk: Path, leave_bytes: int) -> Path:
    """Fills ``disk`` with one file until about ``leave_bytes`` are free."""
    path = disk / "ballast"
    free = shutil.disk_usage(disk).free
    with open(path, "wb") as file:
        file.write(b"\0" * max(0, free - leave_bytes))
    return path


def _fill_until_refused(node: ServerProcess, acknowledged: dict[str, str], limit: int = 2000) -> Err:
    """SETs of ``VALUE_BYTES`` until one is refused; each answered within the deadline."""
    for index in range(limit):
        key, value = f"fill:{index}", f"{index}:" + "v" * VALUE_BYTES
        started = time.monotonic()
        reply = call(node, "SET", key, value, timeout=REPLY_DEADLINE_SECONDS)
        assert time.monotonic() - started < REPLY_DEADLINE_SECONDS
        if isinstance(reply, Err):
            return reply
        assert reply == "OK", reply
        acknowledged[key] = value
    raise AssertionError(f"{limit} writes of {VALUE_BYTES} bytes fit on a {TMPFS_BYTES}-byte disk")


def _assert_holds(node: ServerProcess, acknowledged: dict[str, str]) -> None:
    missing = [key for key, value in acknowledged.items() if call(node, "GET", key) != value]
    assert not missing, f"{len(missing)} acknowledged keys lost, e.g. {missing[:5]}"


def test_full_disk_refuses_writes_serves_reads_and_recovers_when_space_returns(small_disk, tmp_path):
    node = _node_on(small_disk, tmp_path / "node").start()
    ballast = _ballast(small_disk, leave_bytes=3 << 20)
    acknowledged: dict[str, str] = {}
    try:
        refusal = _fill_until_refused(node, acknowledged)
        assert "disk full" in refusal.message and "ENOSPC" in refusal.message, refusal
        assert acknowledged, "no write fit before the disk was full"
        # The node is in its disk-full state: the next write is refused at once too.
        again = call(node, "SET", "after-full", "x", timeout=REPLY_DEADLINE_SECONDS)
        assert isinstance(again, Err) and "disk full" in again.message, again
        # Reads are served (they used to wait for a record that never became durable).
        some_key = next(iter(acknowledged))
        assert call(node, "GET", some_key, timeout=REPLY_DEADLINE_SECONDS) == acknowledged[some_key]
        assert call(node, "DBSIZE", timeout=REPLY_DEADLINE_SECONDS) == len(acknowledged)
        assert call(node, "GET", "after-full", timeout=REPLY_DEADLINE_SECONDS) is None
        assert info(node, "persistence")["wal_write_status"] == "disk_full"
        ballast.unlink()
        wait_until(lambda: call(node, "SET", "after-space", "back") == "OK", 15.0, 0.1,
                   "writes succeed again once space returns, without a restart")
        acknowledged["after-space"] = "back"
        assert info(node, "persistence")["wal_write_status"] == "ok"
        log = node.log_text()
        assert "disk_full" in log and "disk_space_returned" in log, node.log_tail()
        assert node.stop(timeout=SIGTERM_DEADLINE_SECONDS) == 0
        node.start()
        _assert_holds(node, acknowledged)
        assert call(node, "DBSIZE") == len(acknowledged)
    finally:
        node.kill()


def test_sigterm_on_a_full_disk_finishes_and_a_restart_recovers_every_acknowledged_key(small_disk, tmp_path):
    node = _node_on(small_disk, tmp_path / "node").start()
    ballast = _ballast(small_disk, leave_bytes=2 << 20)
    acknowledged: dict[str, str] = {}
    try:
        _fill_until_refused(node, acknowledged)
        started = time.monotonic()
        node.stop(timeout=SIGTERM_DEADLINE_SECONDS)
        assert time.monotonic() - started < SIGTERM_DEADLINE_SECONDS
        ballast.unlink()
        node.start()
        _assert_holds(node, acknowledged)
    finally:
        node.kill()


def test_full_disk_on_a_sync_primary_keeps_its_role_and_its_standby_catches_up_after(small_disk, tmp_path):
    cluster = Cluster(tmp_path / "cluster", mode="sync", snapshot_threshold_bytes=1 << 30)
    cluster.a.data_dir = small_disk / "data"
    cluster.a.data_dir.mkdir()
    acknowledged: dict[str, str] = {}
    try:
        cluster.start()
        ballast = _ballast(small_disk, leave_bytes=3 << 20)
        refusal = _fill_until_refused(cluster.a, acknowledged)
        # A write whose record reached the file before the disk filled may still be waiting
        # for the standby: it is uncertain; one whose record did not is refused.
        assert "disk full" in refusal.message or refusal.message.startswith("UNCERTAIN"), refusal
        assert cluster.role(cluster.a) == "master", "a full disk is no reason to fail over"
        assert info(cluster.a)["connected_slaves"] == "1"
        key = next(iter(acknowledged))
        assert call(cluster.a, "GET", key, timeout=REPLY_DEADLINE_SECONDS) == acknowledged[key]
        ballast.unlink()
        wait_until(lambda: call(cluster.a, "SET", "after-space", "back") == "OK", 15.0, 0.1,
                   "the primary accepts writes again once space returns")
        acknowledged["after-space"] = "back"
        wait_until(lambda: call(cluster.b, "GET", "after-space") == "back", 15.0, 0.05, "the standby caught up")
        _assert_holds(cluster.b, acknowledged)
        assert cluster.role(cluster.a) == "master"
    finally:
        cluster.close()


# -- failing fdatasync -------------------------------------------------------------------------

SHIM_SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* Fails fdatasync and fsync with EIO while the file named by FAIL_FSYNC_TRIGGER exists. */
static int failing(void) {
    const char *trigger = getenv("FAIL_FSYNC_TRIGGER");
    return trigger != NULL && access(trigger, F_OK) == 0;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (failing()) { errno = EIO; return -1; }
    if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real(fd);
}

int fsync(int fd) {
    static int (*real)(int);
    if (failing()) { errno = EIO; return -1; }
    if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}
"""


@pytest.fixture
def fsync_shim(tmp_path):
    """The LD_PRELOAD library and its trigger file's path (absent: syncs work)."""
    if shutil.which("gcc") is None:
        pytest.skip("no gcc: the failing-fdatasync test builds an LD_PRELOAD shim")
    source = tmp_path / "failfsync.c"
    source.write_text(SHIM_SOURCE)
    library = tmp_path / "libfailfsync.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"], check=True)
    return library, tmp_path / "fail-fsync-now"


def test_failing_fdatasync_on_the_primary_hands_over_to_the_standby(tmp_path, fsync_shim, monkeypatch):
    library, trigger = fsync_shim
    cluster = Cluster(tmp_path / "cluster", mode="sync")
    try:
        cluster.witness.start()
        monkeypatch.setenv("LD_PRELOAD", str(library))
        monkeypatch.setenv("FAIL_FSYNC_TRIGGER", str(trigger))
        cluster.a.start()
        monkeypatch.delenv("LD_PRELOAD")
        monkeypatch.delenv("FAIL_FSYNC_TRIGGER")
        cluster.b.start()
        assert cluster.wait_ready() is cluster.a
        acknowledged = {f"before:{i}": str(i) for i in range(50)}
        for key, value in acknowledged.items():
            assert call(cluster.a, "SET", key, value) == "OK"
        trigger.touch()
        failed = call(cluster.a, "SET", "during", "x", timeout=REPLY_DEADLINE_SECONDS)
        assert isinstance(failed, Err), f"a write whose fdatasync failed was acknowledged: {failed!r}"
        assert failed.message.startswith("UNCERTAIN"), failed
        new_primary = cluster.wait_for_new_primary(cluster.a, TAKEOVER_DEADLINE_SECONDS)
        assert new_primary is cluster.b
        wait_until(lambda: call(cluster.b, "SET", "after", "y") == "OK", TAKEOVER_DEADLINE_SECONDS, 0.05,
                   "the new primary acknowledges writes")
        later = call(cluster.a, "SET", "late", "z", timeout=REPLY_DEADLINE_SECONDS)
        assert isinstance(later, Err), f"the old primary acknowledged a write after its fdatasync failed: {later!r}"
        _assert_holds(cluster.b, acknowledged)
        assert "log_failed" in cluster.a.log_text()
        reads = call(cluster.a, "GET", "before:1", timeout=REPLY_DEADLINE_SECONDS)
        assert isinstance(reads, Err), f"a node whose log failed served a read: {reads!r}"
        started = time.monotonic()
        cluster.a.stop(timeout=SIGTERM_DEADLINE_SECONDS)
        assert time.monotonic() - started < SIGTERM_DEADLINE_SECONDS
        trigger.unlink()
        cluster.a.start()  # without the shim: recovery reads what is really on disk
        cluster.wait_for_role(cluster.a, "slave", TAKEOVER_DEADLINE_SECONDS)
        wait_until(lambda: call(cluster.a, "GET", "after") == "y", TAKEOVER_DEADLINE_SECONDS, 0.1,
                   "the restarted node rejoins as the standby and catches up")
    finally:
        cluster.close()


# -- corrupt files on a standby ------------------------------------------------------------------

def _flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))


def _discarded(data_dir: Path, name: str) -> list[Path]:
    return list((data_dir / "discarded").glob(f"*/*/{name}"))


@pytest.mark.parametrize("damaged", ["wal", "snapshot"])
def test_corrupt_file_on_a_stopped_standby_is_set_aside_and_repaired_from_the_primary(tmp_path, damaged):
    # WAL: no snapshots, small segments, and the first segment (not the tail) is damaged.
    # Snapshot: one every 64 KiB; the newest is damaged (recovery falls back to an older one).
    storage = ({"snapshot_threshold_bytes": 1 << 30, "wal_segment_bytes": 128 << 10} if damaged == "wal"
               else {"snapshot_threshold_bytes": 64 << 10, "wal_segment_bytes": 128 << 10})
    cluster = Cluster(tmp_path / "cluster", mode="sync", **storage)
    try:
        cluster.start()
        acknowledged = {f"key:{i}": f"value-{i}-" + "p" * 200 for i in range(3000)}
        for key, value in acknowledged.items():
            assert call(cluster.a, "SET", key, value) == "OK"
        wait_until(lambda: call(cluster.b, "GET", "key:2999") == acknowledged["key:2999"], 15.0, 0.05,
                   "the standby has every record")
        cluster.b.stop()
        if damaged == "wal":
            segments = sorted((cluster.b.data_dir / "wal").glob("*.wal"))
            assert len(segments) >= 3, segments
            target = segments[0]
        else:
            snapshots = sorted((cluster.b.data_dir / "snapshots").glob("snapshot-*.snap"))
            assert len(snapshots) >= 1, "the standby took no snapshot"
            target = snapshots[-1]
        _flip_middle_byte(target)
        cluster.b.start()
        assert _discarded(cluster.b.data_dir, target.name), f"{target.name} was not set aside:\n{cluster.b.log_tail()}"
        wait_until(lambda: info(cluster.b).get("master_link_status") == "up", 30.0, 0.1, "the standby streams again")
        assert call(cluster.a, "SET", "after-repair", "1") == "OK"
        acknowledged["after-repair"] = "1"
        wait_until(lambda: call(cluster.b, "GET", "after-repair") == "1", 30.0, 0.1, "the standby caught up")
        _assert_holds(cluster.b, acknowledged)
        assert "set aside" in cluster.b.log_text()
    finally:
        cluster.close()
