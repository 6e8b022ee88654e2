"""``understudy local``: a witness and two data nodes as children of one command.

1. It comes up: a SET on the primary is acknowledged and a GET on the standby sees it (the
   time from the command to the first acknowledged write is printed; run with ``-s``).
   SIGINT stops all three: exit code 0, every port free again, no process left.
2. A port in use: a clear error naming the port and ``--base-port``, exit code != 0,
   nothing started.
3. SIGKILL of ``understudy local`` itself: the children stop too (PR_SET_PDEATHSIG).

Run: ``UNDERSTUDY_BIN=.build/debug/understudy python3 -m pytest -q -s tests/test_local.py``
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis

from harness import HOST, port_is_free, reserve_port, understudy_binary, wait_until

pytestmark = [
    pytest.mark.skipif(not understudy_binary().exists(), reason=f"understudy binary not found at {understudy_binary()}"),
    pytest.mark.understudy_only,
    pytest.mark.slow,
]

OFFSETS = (1, 2, 10)
STARTUP_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 20.0


def free_base_port() -> int:
    """A base port whose cluster ports (base+1, base+2, base+10) were all free a moment ago."""
    for _ in range(100):
        base = reserve_port()
        if base + 10 < 65536 and all(port_is_free(base + offset) for offset in OFFSETS):
            return base
    raise RuntimeError("no free base port found")


class LocalCluster:
    """``understudy local`` as a subprocess, its stdout and stderr collected by threads."""

    def __init__(self, directory: Path, base_port: int, *extra: str):
        self.directory = directory
        self.base_port = base_port
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [str(understudy_binary()), "local", "--dir", str(directory), "--base-port", str(base_port), *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._collect, args=(self.process.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._collect, args=(self.process.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _collect(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def output(self) -> str:
        for reader in self._readers:
            reader.join(timeout=5)
        return "".join(self.stdout) + "".join(self.stderr)

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(host=HOST, port=port, protocol=2, socket_timeout=2, socket_connect_timeout=1)

    def ports(self) -> list[int]:
        return [self.base_port + offset for offset in OFFSETS]

    def leftover_processes(self) -> list[str]:
        found = subprocess.run(["pgrep", "-af", str(self.directory)], capture_output=True, text=True)
        return [line for line in found.stdout.splitlines() if "pgrep" not in line]

    def stop_anyway(self) -> None:
        """Cleanup after a failed test: SIGINT, then SIGKILL (the children follow by PDEATHSIG)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def set_on_primary(cluster: LocalCluster, key: str, value: str) -> int:
    """SET on whichever node acknowledges it; returns that node's port."""
    for port in (cluster.base_port + 1, cluster.base_port + 2):
        try:
            if cluster.client(port).set(key, value):
                return port
        except redis.RedisError:
            continue
    return 0


def test_local_cluster_comes_up_replicates_and_stops_on_sigint(tmp_path):
    cluster = LocalCluster(tmp_path / "cluster", free_base_port())
    try:
        primary = wait_until(lambda: set_on_primary(cluster, "local:first", "1"), STARTUP_TIMEOUT_SECONDS,
                             interval=0.02, message="a SET acknowledged by either node")
        time_to_first_write = time.monotonic() - cluster.started_at
        print(f"\nunderstudy local: first acknowledged write after {time_to_first_write * 1000:.0f} ms")
        assert time_to_first_write < 15.0

        standby = cluster.base_port + (2 if primary == cluster.base_port + 1 else 1)
        assert wait_until(lambda: cluster.client(standby).get("local:first") == b"1", 10.0,
                          message="the standby has the write")
        wait_until(lambda: any("Press Ctrl-C" in line for line in cluster.stdout), 10.0, message="the banner")
        banner = "".join(cluster.stdout)
        assert f"primary   127.0.0.1:{primary}" in banner
        assert f"standby   127.0.0.1:{standby}" in banner
        for name in ("a", "b", "witness"):
            assert (cluster.directory / f"{name}.log").stat().st_size > 0

        cluster.process.send_signal(signal.SIGINT)
        assert cluster.process.wait(timeout=STOP_TIMEOUT_SECONDS) == 0, cluster.output()
        assert "Stopped" in cluster.output()
        wait_until(lambda: all(port_is_free(port) for port in cluster.ports()), 10.0, message="every port free")
        assert cluster.leftover_processes() == []
    finally:
        cluster.stop_anyway()


def test_busy_port_is_named_and_nothing_starts(tmp_path):
    base = free_base_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind((HOST, base + 2))
        holder.listen()
        cluster = LocalCluster(tmp_path / "cluster", base)
        try:
            code = cluster.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        finally:
            cluster.stop_anyway()
    output = cluster.output()
    assert code != 0, output
    assert f"port {base + 2}" in output and "--base-port" in output, output
    assert cluster.leftover_processes() == []
    assert port_is_free(base + 1) and port_is_free(base + 10)


def test_children_stop_when_local_is_killed(tmp_path):
    cluster = LocalCluster(tmp_path / "cluster", free_base_port())
    try:
        wait_until(lambda: any("Press Ctrl-C" in line for line in cluster.stdout), STARTUP_TIMEOUT_SECONDS,
                   message="the banner")
        cluster.process.kill()
        cluster.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        wait_until(lambda: cluster.leftover_processes() == [], STOP_TIMEOUT_SECONDS,
                   message="no child left after SIGKILL of understudy local")
        wait_until(lambda: all(port_is_free(port) for port in cluster.ports()), 10.0, message="every port free")
    finally:
        cluster.stop_anyway()
