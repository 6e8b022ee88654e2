#!/usr/bin/env python3
"""Resident memory per key, Understudy against Redis in one run.

Each round starts every server fresh (Understudy ``--fsync everysec``; Redis
``--appendonly yes --appendfsync everysec --save ''``), reads its RSS (VmRSS in
/proc/PID/status) while empty, loads N keys ``key:%012d`` with V-byte values through
pipelined SETs (redis-py, one connection), checks DBSIZE, and reads RSS again. Servers run
one after the other, alternating order between rounds; the table shows the median of the
rounds. A second candidate binary (``--before``) is measured the same way.

    python3 benchmarks/memory.py --understudy .build-release/release/understudy \\
        --before /work/main/.build-release/release/understudy --keys 1000000 --rounds 3
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from side_by_side import HOST, Server  # noqa: E402

PIPELINE_BATCH = 1000


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"no VmRSS for process {pid}")


def load(port: int, keys: int, value_bytes: int) -> int:
    client = redis.Redis(host=HOST, port=port)
    value = b"x" * value_bytes
    pipeline = client.pipeline(transaction=False)
    for number in range(keys):
        pipeline.set(b"key:%012d" % number, value)
        if (number + 1) % PIPELINE_BATCH == 0:
            pipeline.execute()
    pipeline.execute()
    size = client.dbsize()
    client.close()
    return size


def measure(kind: str, binary: Path | None, work_dir: Path, keys: int, value_bytes: int) -> dict:
    server = Server(kind, "everysec", work_dir, binary)
    try:
        time.sleep(0.5)  # let the empty node settle (background threads, first allocations)
        empty = resident_bytes(server.process.pid)
        started = time.monotonic()
        dbsize = load(server.port, keys, value_bytes)
        load_seconds = time.monotonic() - started
        time.sleep(1.0)
        loaded = resident_bytes(server.process.pid)
    finally:
        server.stop()
    if dbsize != keys:
        raise SystemExit(f"{kind}: DBSIZE {dbsize} after loading {keys} keys")
    return {"empty": empty, "loaded": loaded, "per_key": (loaded - empty) / keys, "dbsize": dbsize,
            "load_seconds": load_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--understudy", type=Path, required=True, help="release binary to measure")
    parser.add_argument("--before", type=Path, help="an older binary to measure alongside")
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--value-bytes", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()

    candidates = [("redis", "redis", None), ("understudy", "understudy", arguments.understudy)]
    if arguments.before:
        candidates.append(("understudy (before)", "understudy", arguments.before))
    results: dict[str, list[dict]] = {name: [] for name, _, _ in candidates}
    with tempfile.TemporaryDirectory(prefix="understudy-memory-") as work:
        for round_number in range(arguments.rounds):
            order = candidates if round_number % 2 == 0 else list(reversed(candidates))
            for name, kind, binary in order:
                result = measure(kind, binary, Path(work) / f"{round_number}-{name.split()[0]}-{len(results[name])}",
                                 arguments.keys, arguments.value_bytes)
                results[name].append(result)
                print(f"round {round_number + 1} {name}: {result['per_key']:.1f} B/key, empty "
                      f"{result['empty'] / 2**20:.1f} MiB, DBSIZE {result['dbsize']}", file=sys.stderr)

    redis_per_key = statistics.median(r["per_key"] for r in results["redis"])
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{arguments.keys:,} keys `key:%012d`, {arguments.value_bytes}-byte values, "
          f"median of {arguments.rounds} alternating rounds, {date}\n")
    print("| server | bytes per key | × Redis | empty node RSS | RSS loaded | DBSIZE | load time |")
    print("|---|---|---|---|---|---|---|")
    for name, _, _ in candidates:
        rows = results[name]
        per_key = statistics.median(r["per_key"] for r in rows)
        print(f"| {name} | {per_key:.0f} ({min(r['per_key'] for r in rows):.0f}–{max(r['per_key'] for r in rows):.0f}) "
              f"| {per_key / redis_per_key:.2f}× "
              f"| {statistics.median(r['empty'] for r in rows) / 2**20:.1f} MiB "
              f"| {statistics.median(r['loaded'] for r in rows) / 2**20:.0f} MiB "
              f"| {rows[0]['dbsize']:,} | {statistics.median(r['load_seconds'] for r in rows):.1f} s |")


if __name__ == "__main__":
    main()
