"""Crash safety with ``--fsync always``: several clients write concurrently, the server is
killed with SIGKILL at a seeded random moment, restarted on the same data directory, and every
ACKNOWLEDGED write must be there with its value. Also torn and corrupt WAL files.

Seeds: ``CRASH_SEED`` (env) fixes the base seed; otherwise one is drawn and printed, and every
failure message names the seed of its round, so a failing round can be replayed.

The kill -9 rounds also run against redis-server (``appendfsync always``), which checks the
test; the WAL-file tests are understudy-only.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest

from harness import iter_chunks, wait_until, wal_data_end
from writers import Writer, acknowledged_total

pytestmark = pytest.mark.slow

WRITERS = 6
MAX_OPERATIONS_PER_WRITER = 50_000
MAX_WRITE_SECONDS = 20.0
BASE_SEED = int(os.environ.get("CRASH_SEED", random.randrange(1 << 30)))


def _verify(process, writers, seed: int) -> None:
    client = process.client()
    try:
        for writer in writers:
            keys = list(writer.sent)
            for batch in iter_chunks(keys, 1000):
                values = client.mget(batch)
                for key, value in zip(batch, values):
                    if key in writer.acknowledged:
                        assert value == writer.acknowledged[key], (
                            f"seed {seed}: acknowledged write lost or wrong: {key} = {value!r}, "
                            f"expected {writer.acknowledged[key]!r}"
                        )
                    else:
                        assert value in (None, writer.sent[key]), f"seed {seed}: {key} has a value never written: {value!r}"
            if not writer.pipelined:
                counter = int(client.get(writer.counter_key) or 0)
                assert writer.increments_acknowledged <= counter <= writer.increments_sent, (
                    f"seed {seed}: {writer.counter_key} = {counter}, acknowledged "
                    f"{writer.increments_acknowledged}, sent {writer.increments_sent}"
                )
        total_sent = sum(len(writer.sent) for writer in writers) + WRITERS
        assert client.dbsize() <= total_sent
    finally:
        client.close()


@pytest.mark.parametrize("round_index", range(5))
def test_kill9_keeps_every_acknowledged_write(make_server, round_index):
    seed = BASE_SEED + round_index
    rng = random.Random(seed)
    kill_after_seconds = rng.uniform(0.2, 1.5)
    minimum_acknowledged = rng.randrange(50, 500)
    print(f"crash round {round_index}: seed {seed}, kill after {kill_after_seconds:.3f}s "
          f"and >= {minimum_acknowledged} acknowledged writes")

    process = make_server(fsync="always")
    writers = [Writer(index, pipelined=(index % 2 == 1), max_operations=MAX_OPERATIONS_PER_WRITER,
                      max_seconds=MAX_WRITE_SECONDS, counts=True) for index in range(WRITERS)]
    stop = threading.Event()
    threads = [threading.Thread(target=writer.run, args=(process, stop, seed), daemon=True) for writer in writers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        wait_until(
            lambda: time.monotonic() - started >= kill_after_seconds
            and acknowledged_total(writers) >= minimum_acknowledged,
            MAX_WRITE_SECONDS, 0.005, f"seed {seed}: kill point reached",
        )
    finally:
        process.kill()
        stop.set()
        for thread in threads:
            thread.join(timeout=15.0)
    assert not any(thread.is_alive() for thread in threads), "writer threads did not stop"
    for writer in writers:
        assert not writer.unexpected, f"seed {seed}: unexpected replies {writer.unexpected[:3]}"
    print(f"seed {seed}: {acknowledged_total(writers)} acknowledged, "
          f"{sum(len(w.sent) for w in writers)} sent; writers stopped by {[w.stopped_by[:40] for w in writers]}")

    process.start()
    _verify(process, writers, seed)


# -- WAL files: torn and corrupt tails (understudy only) ------------------------------------

def _newest_segment(process) -> Path:
    wal = process.data_dir / "wal"
    assert wal.is_dir(), f"no WAL directory at {wal}; data dir has {sorted(p.name for p in process.data_dir.iterdir())}"
    segments = [path for path in wal.iterdir() if path.suffix == ".wal" and path.stat().st_size > 0]
    assert segments, f"no non-empty WAL segment in {wal}"
    return max(segments, key=lambda path: (path.stat().st_mtime_ns, path.name))


def _write_sequentially(process, count: int, prefix: str) -> dict[str, str]:
    written = {}
    with process.raw() as client:
        for i in range(count):
            key, value = f"{prefix}:{i:05d}", f"value-{i}"
            assert client.call("SET", key, value) == "OK"
            written[key] = value
    return written


def _assert_present(process, expected: dict[str, str]) -> None:
    client = process.client()
    try:
        for batch in iter_chunks(sorted(expected), 1000):
            values = client.mget(batch)
            lost = [key for key, value in zip(batch, values) if value != expected[key]]
            assert not lost, f"{len(lost)} records before the cut are missing: {lost[:5]}"
    finally:
        client.close()


def _assert_logged_cut(process) -> None:
    log = process.log_of_last_start().lower()
    assert any(word in log for word in ("torn", "truncat", "cut")), (
        "expected a log line about cutting the WAL tail (where and how many bytes); log:\n" + process.log_tail()
    )


@pytest.mark.understudy_only
def test_torn_tail_garbage_appended(make_server):
    seed = BASE_SEED + 100
    process = make_server(fsync="always")
    written = _write_sequentially(process, 300, "before")
    process.kill()
    segment = _newest_segment(process)
    garbage = random.Random(seed).randbytes(37)
    end = wal_data_end(segment)  # the segment is preallocated: the records end before the file does
    with open(segment, "r+b") as file:
        file.seek(end)
        file.write(garbage)
    print(f"wrote 37 garbage bytes (seed {seed}) after the last record of {segment.name}, at offset {end}")

    process.start()
    _assert_logged_cut(process)
    _assert_present(process, written)
    # new writes go after the cut and survive another crash
    written.update(_write_sequentially(process, 50, "after"))
    process.kill()
    process.start()
    _assert_present(process, written)


@pytest.mark.understudy_only
def test_torn_tail_last_record_truncated(make_server):
    process = make_server(fsync="always")
    written = _write_sequentially(process, 300, "before")
    process.kill()
    segment = _newest_segment(process)
    end = wal_data_end(segment)  # the segment is preallocated: the records end before the file does
    assert end > 3
    os.truncate(segment, end - 3)
    print(f"truncated {segment.name} from {segment.stat().st_size} to {end - 3} bytes (3 bytes into its last record)")

    process.start()
    _assert_logged_cut(process)
    last_key = max(written)
    del written[last_key]  # the torn record may be gone; every record before it must not be
    _assert_present(process, written)
    with process.raw() as client:
        assert client.call("SET", "after", "ok") == "OK"
    assert process.stop() == 0
    process.start()
    _assert_present(process, written)


@pytest.mark.understudy_only
def test_corruption_before_the_tail_refuses_to_start(make_server):
    process = make_server(fsync="always")
    _write_sequentially(process, 300, "before")
    process.kill()
    segment = _newest_segment(process)
    data = bytearray(segment.read_bytes())
    offset = wal_data_end(segment) // 2  # in the records, not in the preallocated zeros after them
    data[offset] ^= 0xFF
    segment.write_bytes(bytes(data))
    print(f"flipped byte {offset} of {segment.name} ({len(data)} bytes)")

    code = process.start_expecting_refusal()
    assert code != 0
    log = process.log_of_last_start()
    assert segment.name in log, "the refusal must name the corrupt file; log:\n" + process.log_tail()
