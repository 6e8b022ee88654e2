#!/usr/bin/env python3
"""UnderstudyClient through a kill -9 of the primary (issue 10's target: the client's first
write within 50 ms, p50, of the moment the server's promotion completed).

Per trial: a fresh witness and two nodes (``tests/cluster.py``, default timing), 32 callers
doing INCR through one client (``understudy-client-check --mode increments``), ``kill -9``
of the primary 2 s in. The new primary's promotion timeline (``INFO replication``:
``understudy_last_promotion_promoted_to_first_write_ms``) says how long after it became
primary the first write reached it — the client's first attempt there, which it then
acknowledges. Also reported: acknowledged, indeterminate and failed calls, and whether every
counter ended within ``[ok, ok + indeterminate]``.

    swift build -c release
    python3 benchmarks/client_failover.py [--trials 5] [--mode sync]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def trial(binary: Path, mode: str) -> dict:
    from cluster import Cluster

    with tempfile.TemporaryDirectory() as work:
        cluster = Cluster(Path(work), mode=mode).start()
        try:
            old = cluster.primary()
            seeds = ",".join(f"127.0.0.1:{node.port}" for node in (cluster.a, cluster.b))
            check = subprocess.Popen([str(binary), "--seeds", seeds, "--mode", "increments", "--callers", "32",
                                      "--seconds", "6", "--log-level", "warning"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            time.sleep(2.0)  # places the fault in time
            cluster.kill9(old)
            new = cluster.wait_for_new_primary(old, timeout=10.0)
            report_text, _ = check.communicate(timeout=60)
            info = new.client().info("replication")
            first_write = info.get("understudy_last_promotion_promoted_to_first_write_ms")
            report = json.loads(report_text.strip().splitlines()[-1])
            counters = report["counters"].values()
            within = all(c["ok"] <= c["value"] <= c["ok"] + c["indeterminate"] for c in counters)
            return {
                "first_write_ms": int(first_write) if first_write not in (None, "") else None,
                "ok": sum(c["ok"] for c in counters),
                "indeterminate": sum(c["indeterminate"] for c in counters),
                "failed": sum(c["failed"] for c in counters),
                "within": within,
            }
        finally:
            cluster.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--mode", choices=("sync", "async"), default="sync")
    parser.add_argument("--bin-dir", default=str(ROOT / ".build" / "release"))
    options = parser.parse_args()
    bin_dir = Path(options.bin_dir)
    os.environ.setdefault("UNDERSTUDY_BIN", str(bin_dir / "understudy"))
    binary = bin_dir / "understudy-client-check"
    if not binary.exists():
        sys.exit(f"{binary} is missing: run `swift build -c release` first")
    results = [trial(binary, options.mode) for _ in range(options.trials)]
    delays = [r["first_write_ms"] for r in results if r["first_write_ms"] is not None]
    print(f"| trial | promoted → first write (ms) | acknowledged | indeterminate | failed | counters within bounds |")
    print("|---|---|---|---|---|---|")
    for index, r in enumerate(results, 1):
        print(f"| {index} | {r['first_write_ms']} | {r['ok']:,} | {r['indeterminate']} | {r['failed']} | {r['within']} |")
    if delays:
        print(f"\np50 promoted → first write: {statistics.median(delays)} ms (target ≤ 50 ms), "
              f"max {max(delays)} ms, over {len(delays)} trials ({options.mode} mode)")
    return 0 if all(r["within"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
