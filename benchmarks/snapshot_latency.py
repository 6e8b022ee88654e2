#!/usr/bin/env python3
"""Write latency while a background snapshot runs, side by side with Redis.

With ``--keys`` keys (default 1 M) of 64-byte values loaded, ``redis-benchmark -t set -c 50
-d 64 -r KEYS -n N`` runs against a node once with no snapshot and once while background
snapshots run the whole time, for ``--fsync everysec`` and ``always``:

* Understudy: "without" starts with ``--snapshot-threshold-bytes`` far above what the run
  writes; "with" starts with a threshold of 1 byte, so a snapshot of the whole keyspace
  starts with the first write and the next one as soon as the last has finished.
* Redis (``appendonly yes``, ``save ''``, same ``appendfsync``): "with" sends ``BGSAVE`` at
  the start and again whenever the last one has finished, for as long as the load runs.

Both start from a copy of the same loaded data each time. Rounds alternate; cells are the
medians of ``--repeat`` (default 3) rounds; the snapshots that ran during each load are
counted (INFO). The target (issue 12): Understudy's p99 with snapshots ≤ 2× its p99 without.

    swift build -c release --product understudy --scratch-path .build-release
    UNDERSTUDY_BIN=.build-release/release/understudy python3 benchmarks/snapshot_latency.py
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from recovery import info, prepare_redis, prepare_understudy, redis_argv, request, understudy_argv
from side_by_side import free_port, launch, machine_description, redis_version, terminate

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
NO_SNAPSHOTS = 1 << 40


def redis_benchmark(port: int, requests: int, keys: int) -> tuple[float, float, float]:
    argv = ["redis-benchmark", "-h", HOST, "-p", str(port), "-t", "set", "-n", str(requests), "-c", "50",
            "-P", "1", "-d", "64", "-r", str(keys), "--csv"]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    if completed.returncode != 0:
        raise SystemExit(f"redis-benchmark failed: {completed.stderr}")
    row = next(csv.DictReader(io.StringIO(completed.stdout)))
    return float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"])


def keep_redis_saving(port: int, stop: threading.Event, counter: list[int]) -> None:
    """BGSAVE, and again each time the last one has finished, until `stop` is set."""
    while not stop.is_set():
        if info(port, "persistence").get("rdb_bgsave_in_progress") == "0":
            if request(port, b"BGSAVE").startswith(b"+"):
                counter[0] += 1
        time.sleep(0.01)


def measure(kind: str, fsync: str, with_snapshots: bool, source: Path, work: Path, log, binary: Path,
            requests: int, keys: int) -> tuple[float, float, float, int]:
    copy = work / "copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy)
    port = free_port()
    if kind == "understudy":
        argv = understudy_argv(binary, copy, port, 1 if with_snapshots else NO_SNAPSHOTS)
        argv[argv.index("--fsync") + 1] = fsync
    else:
        argv = redis_argv(copy, port, True)
        argv[argv.index("--appendfsync") + 1] = fsync
    process = launch(argv, log, port, kind, timeout=300)
    try:
        stop, saves = threading.Event(), [0]
        saver = threading.Thread(target=keep_redis_saving, args=(port, stop, saves))
        if kind == "redis" and with_snapshots:
            saver.start()
        before = int(info(port, "persistence").get("snapshots_taken", "0"))
        result = redis_benchmark(port, requests, keys)
        stop.set()
        if saver.is_alive():
            saver.join()
        taken = saves[0] if kind == "redis" else int(info(port, "persistence").get("snapshots_taken", "0")) - before
        return (*result, taken)
    finally:
        terminate(process)
        shutil.rmtree(copy, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("-n", "--requests", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    binary = Path(os.environ.get("UNDERSTUDY_BIN", REPO_ROOT / ".build" / "release" / "understudy")).resolve()
    if not binary.exists() or shutil.which("redis-server") is None or shutil.which("redis-benchmark") is None:
        print(f"skipped: needs {binary}, redis-server and redis-benchmark", file=sys.stderr)
        return 0
    began = time.monotonic()
    rows: dict[tuple[str, str, bool], list[tuple[float, float, float, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="understudy-snapshot-latency-") as temporary:
        work = Path(temporary)
        log = open(work / "servers.log", "ab")
        sources = {"understudy": work / "understudy-data", "redis": work / "redis-data"}
        # Understudy's data ends in a snapshot (so each start loads it instead of replaying
        # every write); Redis's in an AOF whose base is an RDB (BGREWRITEAOF).
        prepare_understudy(binary, sources["understudy"], log, arguments.keys, 0)
        prepare_redis(sources["redis"], log, arguments.keys, 0, True)
        for round_number in range(arguments.repeat):
            for fsync in ("everysec", "always"):
                for kind in ("understudy", "redis"):
                    for with_snapshots in (False, True):
                        result = measure(kind, fsync, with_snapshots, sources[kind], work, log, binary,
                                         arguments.requests, arguments.keys)
                        rows.setdefault((kind, fsync, with_snapshots), []).append(result)
                        print(f"round {round_number + 1}: {kind} {fsync} snapshots={with_snapshots}: "
                              f"{result[0]:,.0f} rps, p50 {result[1]:.3f} ms, p99 {result[2]:.3f} ms, {result[3]} snapshots",
                              flush=True)
        log.close()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nRun: {now} · {machine_description()} · Redis {redis_version()} · {arguments.keys:,} keys of 64-byte values · "
          f"`redis-benchmark -t set -c 50 -P 1 -d 64 -r {arguments.keys} -n {arguments.requests}` · median of "
          f"{arguments.repeat} alternating rounds · took {time.monotonic() - began:.0f} s\n")
    print("| server | fsync | SET rps without / with | p99 ms without | p99 ms with (runs) | with / without | snapshots during the load |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for kind in ("understudy", "redis"):
        for fsync in ("everysec", "always"):
            without, with_ = rows[(kind, fsync, False)], rows[(kind, fsync, True)]
            p99_without = statistics.median(r[2] for r in without)
            p99_with = statistics.median(r[2] for r in with_)
            print(f"| {'Understudy' if kind == 'understudy' else 'Redis (BGSAVE)'} | {fsync} | "
                  f"{statistics.median(r[0] for r in without):,.0f} / {statistics.median(r[0] for r in with_):,.0f} | "
                  f"{p99_without:.3f} | {p99_with:.3f} ({' / '.join(f'{r[2]:.2f}' for r in with_)}) | "
                  f"{p99_with / p99_without:.2f}× | {' / '.join(str(r[3]) for r in with_)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
