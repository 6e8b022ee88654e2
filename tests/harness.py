"""Process-level harness: start understudy (or Debian's redis-server) on a free loopback
port in a fresh data directory, wait for it without sleeps, stop or kill it.

Every wait polls a condition against a deadline (``wait_until``); nothing sleeps for a
fixed time hoping the server is ready.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterable

import redis

from resp import RawClient

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0


class ServerStartError(RuntimeError):
    pass


def understudy_binary() -> Path:
    return Path(os.environ.get("UNDERSTUDY_BIN", REPO_ROOT / ".build" / "debug" / "understudy"))


def free_port() -> int:
    """A port that was free a moment ago: bind port 0 on loopback and let the kernel pick."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.01, message: str = ""):
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` seconds pass.

    Returns the truthy value; raises ``TimeoutError`` naming ``message`` otherwise. Exceptions
    from the predicate count as "not yet" (the last one is chained onto the timeout).
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - "not yet" while polling
            last_error = error
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout}s: {message or predicate}") from last_error
        time.sleep(interval)


def _ping(port: int) -> bool:
    with RawClient(HOST, port, timeout=1.0) as client:
        return client.call("PING") == "PONG"


class ServerProcess:
    """One server process. ``target`` is ``"understudy"`` or ``"redis"``.

    ``options`` are understudy flag names without dashes (``fsync``, ``max_bulk_bytes``,
    ``max_connections`` ...). For ``redis`` the ones that have a Redis equivalent are
    mapped; the rest are ignored (tests that need them are understudy-only).
    """

    def __init__(self, target: str, work_dir: Path, **options):
        self.target = target
        self.work_dir = Path(work_dir)
        self.data_dir = self.work_dir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.work_dir / "server.log"
        self.options = options
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self._log_file = None
        self.starts = 0

    # -- command lines -------------------------------------------------------------------
    def _command(self, port: int) -> list[str]:
        if self.target == "understudy":
            binary = understudy_binary()
            if not binary.exists():
                raise ServerStartError(
                    f"understudy binary not found at {binary}; run `swift build` or set UNDERSTUDY_BIN"
                )
            command = [
                str(binary), "server",
                "--data-dir", str(self.data_dir),
                "--listen", f"{HOST}:{port}",
                "--fsync", self.options.get("fsync", "always"),
            ]
            for name in ("max_bulk_bytes", "max_request_bytes", "max_arguments", "max_connections"):
                if name in self.options:
                    command += ["--" + name.replace("_", "-"), str(self.options[name])]
            return command
        if self.target == "redis":
            redis_server = shutil.which("redis-server")
            if redis_server is None:
                raise ServerStartError("redis-server not found; apt-get install -y redis-server")
            fsync = self.options.get("fsync")
            command = [
                redis_server,
                "--port", str(port),
                "--bind", HOST,
                "--dir", str(self.data_dir),
                "--save", "",
                "--daemonize", "no",
                "--protected-mode", "no",
                "--appendonly", "yes" if fsync else "no",
            ]
            if fsync:
                command += ["--appendfsync", fsync]
            if "max_bulk_bytes" in self.options:
                command += ["--proto-max-bulk-len", str(self.options["max_bulk_bytes"])]
            if "max_connections" in self.options:
                command += ["--maxclients", str(self.options["max_connections"])]
            return command
        raise ValueError(f"unknown target {self.target!r}")

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> "ServerProcess":
        """Start on a fresh free port (retrying if another process took it) and wait for PING."""
        last_error = None
        for _attempt in range(3):
            self._close_log()
            port = free_port()
            self._log_file = open(self.log_path, "ab")
            self._log_file.write(f"--- start {self.starts + 1} on port {port} ---\n".encode())
            self._log_file.flush()
            self.process = subprocess.Popen(
                self._command(port),
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=self._log_file,
                start_new_session=True,
            )
            self.port = port
            self.starts += 1
            try:
                wait_until(lambda: self._exited() or _ping(port), STARTUP_TIMEOUT_SECONDS, 0.02,
                           f"{self.target} answers PING on {port}")
            except TimeoutError as error:
                self.kill()
                raise ServerStartError(f"{self.target} did not answer PING; log:\n{self.log_tail()}") from error
            if not self._exited():
                return self
            last_error = ServerStartError(
                f"{self.target} exited with {self.process.returncode} at start; log:\n{self.log_tail()}"
            )
            if "in use" not in self.log_tail().lower():
                break
        raise last_error

    def start_expecting_refusal(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> int:
        """Start and expect the process to exit by itself (refusing to start); return its code.

        Fails if it starts serving instead.
        """
        port = free_port()
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"--- start {self.starts + 1} on port {port} (refusal expected) ---\n".encode())
        self._log_file.flush()
        self.process = subprocess.Popen(
            self._command(port), stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=self._log_file,
            start_new_session=True,
        )
        self.port = port
        self.starts += 1
        try:
            wait_until(lambda: self._exited() or _ping(port), timeout, 0.02, "process exits or serves")
        finally:
            if not self._exited():
                self.kill()
                raise AssertionError(f"{self.target} started serving; expected it to refuse. log:\n{self.log_tail()}")
        self._close_log()
        return self.process.returncode

    def log_of_last_start(self) -> str:
        text = self.log_text()
        marker = f"--- start {self.starts} "
        return text[text.rfind(marker):] if marker in text else text

    def _exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """SIGTERM and wait for exit; return the exit code (kill -9 and raise if it hangs)."""
        assert self.process is not None
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.target} did not exit within {timeout}s of SIGTERM; log:\n{self.log_tail()}")
        self._close_log()
        return code

    def kill(self) -> None:
        """kill -9, and reap the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # -- clients and logs ----------------------------------------------------------------
    def client(self, **kwargs) -> redis.Redis:
        """A redis-py client speaking RESP2 (``protocol=2``; redis-py >= 8 defaults to RESP3)."""
        kwargs.setdefault("decode_responses", True)
        kwargs.setdefault("protocol", 2)
        kwargs.setdefault("socket_timeout", 10)
        return redis.Redis(host=HOST, port=self.port, **kwargs)

    def raw(self, timeout: float = 10.0) -> RawClient:
        return RawClient(HOST, self.port, timeout=timeout)

    def log_text(self) -> str:
        if self._log_file is not None:
            self._log_file.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def iter_chunks(items: Iterable, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
