#!/usr/bin/env python3
"""Recovery benchmark: time from process start to serving with 1 M keys, side by side with Redis.

Data (built once per run, then copied afresh before every timed start so each start sees the
same files, all warm in the page cache):

* Understudy: ``--keys`` keys (default 1 M) of 64-byte values loaded pipelined, then a
  snapshot of all of them (a restart with ``--snapshot-threshold-bytes 1`` and one write
  triggers it), then ``--tail`` overwrites (default 100 k) with snapshots off: on disk a
  snapshot + a WAL tail, what a node restarted after a crash finds.
* Redis, ``--appendonly yes --appendfsync everysec --save ''``, two shapes:
  - **RDB preamble + tail** (``aof-use-rdb-preamble yes``, the default): the same keys,
    ``BGREWRITEAOF`` (base file = RDB), then the same overwrites (incr file = commands).
    The like-for-like shape for Understudy's snapshot + WAL tail.
  - **commands only** (``aof-use-rdb-preamble no``, no rewrite): every write as a command.

  Automatic AOF rewrites are off (``auto-aof-rewrite-percentage 0``) so each shape is what
  it says.

Timed: from ``Popen`` to the first ``GET`` of the last overwritten key that returns its
value (connection refused and Redis's ``-LOADING`` are polled in a tight loop). Rounds
alternate the three starts; cells are medians of ``--repeat`` (default 3).

    swift build -c release --product understudy --scratch-path .build-release
    UNDERSTUDY_BIN=.build-release/release/understudy python3 benchmarks/recovery.py
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from side_by_side import free_port, launch, machine_description, redis_version, terminate

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
VALUE_BYTES = 64
BATCH = 5_000
STARTUP_TIMEOUT_SECONDS = 300.0


def key(index: int) -> bytes:
    return b"key:%012d" % index


def value(index: int, generation: int) -> bytes:
    return (b"v%d-%d-" % (generation, index)).ljust(VALUE_BYTES, b"x")


def encode(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def load(port: int, indices: range, generation: int) -> None:
    """SETs every key in `indices`, pipelined in batches; every reply MUST be +OK."""
    with socket.create_connection((HOST, port), timeout=60) as connection:
        for start in range(indices.start, indices.stop, BATCH):
            batch = range(start, min(start + BATCH, indices.stop))
            connection.sendall(b"".join(encode(b"SET", key(i), value(i, generation)) for i in batch))
            expected = b"+OK\r\n" * len(batch)
            received = b""
            while len(received) < len(expected):
                chunk = connection.recv(1 << 20)
                if not chunk:
                    raise SystemExit("server closed the connection during the load")
                received += chunk
            if received != expected:
                raise SystemExit(f"unexpected replies during the load: {received[:200]!r}")


def request(port: int, *args: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection((HOST, port), timeout=timeout) as connection:
        connection.sendall(encode(*args))
        data = b""
        while not data.endswith(b"\r\n") or (data.startswith(b"$") and data.count(b"\r\n") < 2 and not data.startswith(b"$-1")):
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def info(port: int, section: str) -> dict[str, str]:
    reply = request(port, b"INFO", section.encode()).decode(errors="replace")
    return dict(line.split(":", 1) for line in reply.splitlines()[1:] if ":" in line and not line.startswith("#"))


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout}s waiting for: {what}")
        time.sleep(0.05)


def understudy_argv(binary: Path, data_dir: Path, port: int, threshold: int) -> list[str]:
    return [str(binary), "server", "--data-dir", str(data_dir), "--listen", f"{HOST}:{port}",
            "--fsync", "everysec", "--snapshot-threshold-bytes", str(threshold)]


def redis_argv(data_dir: Path, port: int, preamble: bool) -> list[str]:
    return ["redis-server", "--port", str(port), "--bind", HOST, "--protected-mode", "no", "--dir", str(data_dir),
            "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
            "--aof-use-rdb-preamble", "yes" if preamble else "no", "--auto-aof-rewrite-percentage", "0",
            "--daemonize", "no"]


def run_phase(argv: list[str], port: int, log, name: str, body) -> None:
    process = launch(argv, log, port, name, timeout=STARTUP_TIMEOUT_SECONDS)
    try:
        body()
    finally:
        terminate(process)


def prepare_understudy(binary: Path, data_dir: Path, log, keys: int, tail: int) -> str:
    data_dir.mkdir()
    no_snapshots = 1 << 40
    port = free_port()
    run_phase(understudy_argv(binary, data_dir, port, no_snapshots), port, log, "understudy-load",
              lambda: load(port, range(keys), 0))

    def snapshot() -> None:
        load(port, range(keys - 1, keys), 0)  # one write crosses the 1-byte threshold
        wait_for(lambda: int(info(port, "persistence").get("snapshots_taken", "0")) >= 1, 300, "a snapshot")
    port = free_port()
    run_phase(understudy_argv(binary, data_dir, port, 1), port, log, "understudy-snapshot", snapshot)
    port = free_port()
    run_phase(understudy_argv(binary, data_dir, port, no_snapshots), port, log, "understudy-tail",
              lambda: load(port, range(tail), 1))
    snapshots = sorted((data_dir / "snapshots").glob("*.snap"))
    wal_bytes = sum(path.stat().st_size for path in (data_dir / "wal").iterdir())
    return (f"{snapshots[-1].name} {snapshots[-1].stat().st_size / 1e6:.1f} MB, WAL {wal_bytes / 1e6:.1f} MB "
            f"(replay reads only the segment after the snapshot)")


def prepare_redis(data_dir: Path, log, keys: int, tail: int, preamble: bool) -> str:
    data_dir.mkdir()
    port = free_port()

    def fill() -> None:
        load(port, range(keys), 0)
        if preamble:
            request(port, b"BGREWRITEAOF")
            wait_for(lambda: (lambda p: p.get("aof_rewrite_in_progress") == "0"
                              and p.get("aof_rewrite_scheduled") == "0")(info(port, "persistence")), 300, "BGREWRITEAOF")
        load(port, range(tail), 1)
    run_phase(redis_argv(data_dir, port, preamble), port, log, "redis-load", fill)
    files = sorted((data_dir / "appendonlydir").iterdir())
    return ", ".join(f"{path.name} {path.stat().st_size / 1e6:.1f} MB" for path in files if path.stat().st_size > 1000)


def time_to_serving(argv: list[str], port: int, log, probe_key: bytes, expected: bytes) -> float:
    """Seconds from spawning the server to a GET of `probe_key` that answers `expected`."""
    wanted = b"$%d\r\n%s\r\n" % (len(expected), expected)
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = started + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{argv[0]} exited with {process.returncode} while starting")
            try:
                with socket.create_connection((HOST, port), timeout=5) as connection:
                    while time.monotonic() < deadline:
                        connection.sendall(encode(b"GET", probe_key))
                        reply = b""
                        while not reply.endswith(b"\r\n") or (reply.startswith(b"$") and reply.count(b"\r\n") < 2):
                            chunk = connection.recv(4096)
                            if not chunk:
                                raise ConnectionError("closed")
                            reply += chunk
                        if reply == wanted:
                            return time.monotonic() - started
                        if not reply.startswith(b"-LOADING"):
                            raise SystemExit(f"unexpected reply while starting: {reply[:200]!r}")
            except (ConnectionError, OSError):
                pass  # not listening yet: try again at once
        raise SystemExit(f"not serving after {STARTUP_TIMEOUT_SECONDS}s")
    finally:
        terminate(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--tail", type=int, default=100_000, help="overwrites after the snapshot / AOF rewrite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another understudy binary (e.g. main's) timed on the same data, for before/after")
    arguments = parser.parse_args()
    binary = Path(os.environ.get("UNDERSTUDY_BIN", REPO_ROOT / ".build" / "release" / "understudy")).resolve()
    if not binary.exists() or shutil.which("redis-server") is None:
        print(f"skipped: needs {binary} and redis-server", file=sys.stderr)
        return 0
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="understudy-recovery-") as temporary:
        work = Path(temporary)
        log = open(work / "servers.log", "ab")
        shapes = {
            "Understudy (snapshot + WAL tail)": prepare_understudy(binary, work / "understudy", log, arguments.keys, arguments.tail),
            "Redis AOF, RDB preamble + tail": prepare_redis(work / "redis-preamble", log, arguments.keys, arguments.tail, True),
            "Redis AOF, commands only": prepare_redis(work / "redis-commands", log, arguments.keys, arguments.tail, False),
        }
        sources = {"Understudy (snapshot + WAL tail)": work / "understudy",
                   "Redis AOF, RDB preamble + tail": work / "redis-preamble",
                   "Redis AOF, commands only": work / "redis-commands"}
        binaries = {"Understudy (snapshot + WAL tail)": binary}
        if arguments.baseline:
            name = f"Understudy baseline ({arguments.baseline})"
            shapes[name], sources[name], binaries[name] = shapes["Understudy (snapshot + WAL tail)"], work / "understudy", arguments.baseline.resolve()
        timings: dict[str, list[float]] = {name: [] for name in shapes}
        probe = arguments.tail - 1
        for round_number in range(arguments.repeat):
            for name, source in sources.items():
                copy = work / f"copy-{round_number}"
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(source, copy)
                port = free_port()
                argv = (understudy_argv(binaries[name], copy, port, 1 << 40) if name in binaries
                        else redis_argv(copy, port, "preamble" in name))
                seconds = time_to_serving(argv, port, log, key(probe), value(probe, 1))
                timings[name].append(seconds)
                print(f"round {round_number + 1}: {name}: {seconds:.3f} s", flush=True)
                shutil.rmtree(copy)
        log.close()
    ours = statistics.median(timings["Understudy (snapshot + WAL tail)"])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nRun: {now} · {machine_description()} · Redis {redis_version()} · {arguments.keys:,} keys of "
          f"{VALUE_BYTES}-byte values + {arguments.tail:,} overwrites · median of {arguments.repeat} alternating rounds · "
          f"took {time.monotonic() - began:.0f} s\n")
    print("| start to serving | median s | runs s | on disk | Understudy / this |")
    print("|---|---:|---|---|---:|")
    for name, runs in timings.items():
        middle = statistics.median(runs)
        print(f"| {name} | {middle:.2f} | {' / '.join(f'{r:.2f}' for r in runs)} | {shapes[name]} | {ours / middle:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
