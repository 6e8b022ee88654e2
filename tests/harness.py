"""Process-level harness: start understudy (or Debian's redis-server) on a free loopback
port in a fresh data directory, wait for it without sleeps, stop or kill it.

Every wait polls a condition against a deadline (``wait_until``); nothing sleeps for a
fixed time hoping the server is ready.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterable

import redis

from resp import Closed, RawClient

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
_port_random = random.Random()

# understudy flags passed through as ``--name-with-dashes VALUE`` when given as options
# (``None`` leaves a flag out, so a restart can drop one).
PASS_THROUGH_FLAGS = (
    "max_bulk_bytes", "max_request_bytes", "max_arguments", "max_connections",
    # per-connection bulkheads (docs/protocol.md, "Load shedding")
    "client_output_buffer_limit", "max_inflight_per_connection", "idle_timeout",
    # replication (docs/replication.md) and the storage knobs its tests need
    "peer", "replication", "role", "sync_timeout", "max_waiting_writes",
    "wal_segment_bytes", "snapshot_threshold_bytes", "wal_retention_bytes", "log_level",
    # automatic failover (a witness; durations like ``100ms``, ``1s``; sizes like ``1MB``)
    "witness", "heartbeat_interval", "failure_timeout", "lease", "max_lag_on_failover",
    # operations (docs/operations.md): admin HTTP port, log format, drain deadline
    "admin", "log_format", "drain_timeout",
    # peer authentication (docs/security.md, "Peer authentication")
    "cluster_secret_file",
    # client authentication (docs/security.md); the option ``password`` is not a flag: it
    # is what the harness's own connections send as AUTH (``info``, ``call``, ``client``)
    "password_file", "users_file",
)
# TLS (docs/security.md), for servers and the witness alike. A process given them is polled
# over TLS with its ``tls_client`` option (an ``ssl.SSLContext``).
TLS_FLAGS = ("tls_cert_file", "tls_key_file", "tls_ca_cert_file", "tls_auth_clients", "tls_replication")


class ServerStartError(RuntimeError):
    pass


def understudy_binary() -> Path:
    return Path(os.environ.get("UNDERSTUDY_BIN", REPO_ROOT / ".build" / "debug" / "understudy"))


def free_port() -> int:
    """A port that was free a moment ago: bind port 0 on loopback and let the kernel pick."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def reserve_port(rng=None) -> int:
    """A loopback port below the kernel's ephemeral range that was free a moment ago.

    For nodes that must keep their port across restarts (a pair names each other with
    ``--peer``): a port from ``free_port()`` lies in the ephemeral range, where the client
    connections the tests open can take it while its server is down; below the range only
    an explicit ``bind`` can.
    """
    low = 32768
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    rng = rng or _port_random
    floor = 10000 if low > 12000 else 1024
    for _ in range(200):
        port = rng.randrange(floor, low)
        if port_is_free(port):
            return port
    return free_port()


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


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


def _ping(port: int, ssl_context=None) -> bool:
    with RawClient(HOST, port, timeout=1.0, ssl_context=ssl_context) as client:
        return client.call("PING") == "PONG"


class ServerProcess:
    """One server process. ``target`` is ``"understudy"`` or ``"redis"``.

    ``options`` are understudy flag names without dashes (``fsync``, ``max_bulk_bytes``,
    ``max_connections``, ``peer``, ``role`` ...). For ``redis`` the ones that have a Redis
    equivalent are mapped; the rest are ignored (tests that need them are understudy-only).
    ``port``: listen on this port at every start (a pair's nodes name each other's ports);
    without it every start picks a fresh free port. ``options`` may be changed between
    starts (``process.options.update(role="standby")``).
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
            for name in PASS_THROUGH_FLAGS + TLS_FLAGS:
                if self.options.get(name) is not None:
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
            port = self._next_port()
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
                wait_until(lambda: self._exited() or _ping(port, self.tls_client), STARTUP_TIMEOUT_SECONDS, 0.02,
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
        port = self._next_port()
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
            wait_until(lambda: self._exited() or _ping(port, self.tls_client), timeout, 0.02, "process exits or serves")
        finally:
            if not self._exited():
                self.kill()
                raise AssertionError(f"{self.target} started serving; expected it to refuse. log:\n{self.log_tail()}")
        self._close_log()
        return self.process.returncode

    def _next_port(self) -> int:
        fixed = self.options.get("port")
        if fixed is None:
            return free_port()
        # A fixed port is normally free at once (the server sets SO_REUSEADDR); give a
        # process that was just killed a moment to let go of it.
        wait_until(lambda: port_is_free(fixed), STOP_TIMEOUT_SECONDS, 0.05, f"port {fixed} is free")
        return fixed

    @property
    def tls_client(self):
        """The ``ssl.SSLContext`` the harness talks to this process with (option
        ``tls_client``), or None for plaintext."""
        return self.options.get("tls_client")

    @property
    def address(self) -> str:
        """``HOST:PORT`` this node listens on (its ``--listen``, what a peer names)."""
        port = self.port if self.port is not None else self.options.get("port")
        return f"{HOST}:{port}"

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

    def pause(self) -> None:
        """SIGSTOP: the process stalls (its sockets stay open) until ``resume()``."""
        assert self.alive, "pause() needs a running process"
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after ``pause()``."""
        if self.alive:
            os.kill(self.process.pid, signal.SIGCONT)

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
        kwargs.setdefault("password", self.options.get("password"))
        return redis.Redis(host=HOST, port=self.port, **kwargs)

    def raw(self, timeout: float = 10.0) -> RawClient:
        """A raw connection, authenticated first when the process has a ``password`` option."""
        return _authenticated(RawClient(HOST, self.port, timeout=timeout, ssl_context=self.tls_client), self.options.get("password"))

    def log_text(self) -> str:
        if self._log_file is not None:
            self._log_file.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def wal_data_end(segment: Path) -> int:
    """Where the frames of a WAL segment end: segments are preallocated (zero-filled), so the
    file size is not the end of the data. Walks the frame lengths from the 32-byte header
    to the end of the file or the first all-zero 24-byte frame header (docs/storage.md)."""
    data = segment.read_bytes()
    offset = 32
    while offset + 24 <= len(data) and any(data[offset:offset + 24]):
        end = offset + 24 + int.from_bytes(data[offset:offset + 4], "little")
        if end > len(data):
            break
        offset = end
    return min(offset, len(data))


def iter_chunks(items: Iterable, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- replication (docs/replication.md) ---------------------------------------------------

_help_cache: dict[str, str] = {}


def understudy_help(subcommand: str) -> str:
    """``understudy <subcommand> --help`` output ("" if the binary is missing or fails)."""
    binary = str(understudy_binary())
    cache_key = f"{binary} {subcommand}"
    if cache_key not in _help_cache:
        try:
            completed = subprocess.run([binary, subcommand, "--help"], capture_output=True, text=True,
                                       timeout=30, stdin=subprocess.DEVNULL)
            _help_cache[cache_key] = completed.stdout + completed.stderr
        except (OSError, subprocess.SubprocessError):
            _help_cache[cache_key] = ""
    return _help_cache[cache_key]


def understudy_server_help() -> str:
    """``understudy server --help`` output ("" if the binary is missing or fails)."""
    return understudy_help("server")


def understudy_supports(flag: str, subcommand: str = "server") -> bool:
    """True if ``understudy <subcommand> --help`` lists ``flag`` (e.g. ``--peer``)."""
    return any(word.strip("[],=<>") == flag for word in understudy_help(subcommand).split())


def understudy_has_witness() -> bool:
    """True once the binary has a ``witness`` subcommand (its help lists ``--nodes``; an
    unknown subcommand prints the top-level help instead) and ``server`` takes ``--witness``."""
    return understudy_supports("--nodes", "witness") and understudy_supports("--witness")


def parse_info(text: str) -> dict[str, str]:
    """``INFO`` text to a dict of raw string values (``# Section`` lines and blanks skipped)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, value = line.split(":", 1)
        fields[name] = value
    return fields


def _authenticated(client: RawClient, password: str | None) -> RawClient:
    if password is not None:
        reply = client.call("AUTH", password)
        if reply != "OK":
            client.close()
            raise AssertionError(f"AUTH answered {reply!r}")
    return client


def info(process: "ServerProcess", section: str = "replication", timeout: float = 5.0) -> dict[str, str]:
    """One ``INFO <section>`` on a fresh connection (a reply held back by the server, e.g.
    behind a sync write that waits for the standby, cannot leak into a later call)."""
    with _authenticated(RawClient(HOST, process.port, timeout=timeout, ssl_context=process.tls_client),
                        process.options.get("password")) as client:
        reply = client.call("INFO", section)
    if not isinstance(reply, str):
        raise AssertionError(f"INFO {section} answered {reply!r}")
    return parse_info(reply)


def call(process: "ServerProcess", *args, timeout: float = 5.0):
    """One command on a fresh raw connection; errors come back as ``resp.Err``."""
    with _authenticated(RawClient(HOST, process.port, timeout=timeout, ssl_context=process.tls_client),
                        process.options.get("password")) as client:
        return client.call(*args)


def wrong_values(process, expected: dict[str, str]) -> list[tuple[str, object, str]]:
    """(key, value there, expected value) for every key that does not hold its value."""
    wrong = []
    client = process.client()
    try:
        for batch in iter_chunks(list(expected), 1000):
            for key, value in zip(batch, client.mget(batch)):
                if value != expected[key]:
                    wrong.append((key, value, expected[key]))
    finally:
        client.close()
    return wrong


def wait_values(process, expected: dict[str, str], timeout: float, what: str) -> None:
    """Poll until every key of ``expected`` holds its value on ``process``."""
    try:
        wait_until(lambda: not wrong_values(process, expected), timeout, 0.05, what)
    except TimeoutError:
        wrong = wrong_values(process, expected)
        raise AssertionError(f"{what}: {len(wrong)} of {len(expected)} keys missing or wrong after {timeout}s, "
                             f"first {wrong[:5]}; log tail:\n{process.log_tail(20)}") from None


def wait_until_stable(read: Callable[[], object], quiet_seconds: float, timeout: float,
                      interval: float = 0.05, message: str = ""):
    """Poll ``read()`` until its value has not changed for ``quiet_seconds``; return it.

    Raises ``TimeoutError`` if it keeps changing (or keeps failing) for ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    value, since, last_error = None, None, None
    while True:
        now = time.monotonic()
        try:
            current = read()
            if since is None or current != value:
                value, since = current, now
            elif now - since >= quiet_seconds:
                return value
        except Exception as error:  # noqa: BLE001 - "not yet" while polling
            last_error, since = error, None
        if now >= deadline:
            raise TimeoutError(f"value kept changing for {timeout}s (last {value!r}): {message}") from last_error
        time.sleep(interval)


def holds_for(predicate: Callable[[], object], seconds: float, interval: float = 0.05) -> tuple[bool, object]:
    """Check that ``predicate`` stays truthy for ``seconds`` (a bounded observation window
    for "this must not happen" checks). Returns ``(True, None)`` or ``(False, value)`` at the
    first falsy value or exception."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = predicate()
        except Exception as error:  # noqa: BLE001
            return False, error
        if not value:
            return False, value
        if time.monotonic() >= deadline:
            return True, None
        time.sleep(interval)


class ReplicationPair:
    """A primary and a standby on fixed loopback ports, each naming the other with ``--peer``.

    ``options`` go to both nodes; ``primary_options`` / ``standby_options`` to one. Nothing
    is started until ``start()``.
    """

    def __init__(self, primary_dir: Path, standby_dir: Path, mode: str,
                 primary_options: dict | None = None, standby_options: dict | None = None, **options):
        primary_port = reserve_port()
        standby_port = reserve_port()
        while standby_port == primary_port:
            standby_port = reserve_port()
        self.mode = mode
        common = {"fsync": "always", "replication": mode, **options}
        self.primary = ServerProcess(
            "understudy", primary_dir, port=primary_port, peer=f"{HOST}:{standby_port}", role="primary",
            **{**common, **(primary_options or {})})
        self.standby = ServerProcess(
            "understudy", standby_dir, port=standby_port, peer=f"{HOST}:{primary_port}", role="standby",
            **{**common, **(standby_options or {})})

    def start(self, attach: bool = True, timeout: float = 30.0) -> "ReplicationPair":
        self.primary.start()
        self.standby.start()
        if attach:
            self.wait_attached(timeout)
        return self

    def wait_attached(self, timeout: float = 30.0) -> None:
        """Until the primary counts the standby and the standby's link is up."""
        wait_until(lambda: info(self.primary).get("connected_slaves") == "1"
                   and info(self.standby).get("master_link_status") == "up",
                   timeout, 0.05, "standby attached (primary connected_slaves:1, standby master_link_status:up)")

    def last_written_lsn(self) -> int:
        return int(info(self.primary, "persistence")["wal_last_appended_lsn"])

    def standby_applied_lsn(self) -> int:
        return int(info(self.standby)["understudy_applied_lsn"])

    def wait_caught_up(self, timeout: float = 30.0) -> int:
        """Until the standby has applied everything the primary has written (call once
        writes stopped); returns that LSN."""
        def caught_up():
            target = self.last_written_lsn()
            return (target,) if self.standby_applied_lsn() >= target else None
        return wait_until(caught_up, timeout, 0.05, "standby applied the primary's last LSN")[0]

    def kill(self) -> None:
        self.primary.kill()
        self.standby.kill()


# -- automatic failover: durations and the witness -----------------------------------------

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}


def parse_duration(text: str) -> float:
    """A flag duration (``100ms``, ``1s``, ``1.5s``, ``2m``) in seconds."""
    text = str(text).strip()
    for unit in sorted(_DURATION_UNITS, key=len, reverse=True):
        if text.endswith(unit) and text[: -len(unit)]:
            try:
                return float(text[: -len(unit)]) * _DURATION_UNITS[unit]
            except ValueError:
                break
    raise ValueError(f"not a duration: {text!r} (expected e.g. 100ms, 1s)")


class WitnessProcess(ServerProcess):
    """``understudy witness``: stores only (epoch, primary, standby sync state) and votes.

    ``nodes``: the two data nodes' ``--listen`` addresses. ``port`` fixes its port across
    restarts (the nodes name it with ``--witness``). Started like a server: ``start()``
    returns once it answers ``PING`` with ``PONG``; ``kill()`` is kill -9.
    """

    def __init__(self, work_dir: Path, nodes: Iterable[str], **options):
        super().__init__("witness", work_dir, nodes=",".join(nodes), **options)

    def _command(self, port: int) -> list[str]:
        binary = understudy_binary()
        if not binary.exists():
            raise ServerStartError(f"understudy binary not found at {binary}; run `swift build` or set UNDERSTUDY_BIN")
        command = [str(binary), "witness", "--data-dir", str(self.data_dir), "--listen", f"{HOST}:{port}",
                   "--nodes", self.options["nodes"]]
        for name in ("log_level", "admin", "log_format", "cluster_secret_file", *TLS_FLAGS):
            if self.options.get(name) is not None:
                command += ["--" + name.replace("_", "-"), str(self.options[name])]
        return command

    def status(self, timeout: float = 2.0) -> dict[str, str] | None:
        """The witness's record from ``WITNESS STATUS`` (``+STATE epoch primary standby
        in-sync mode lease-ms cluster``) as a dict, or None if it is down or answers otherwise.
        For diagnostics and readiness checks; the tests' assertions rest on ROLE and INFO."""
        try:
            reply = call(self, "WITNESS", "STATUS", timeout=timeout)
        except (OSError, TimeoutError, Closed):
            return None
        words = reply.split() if isinstance(reply, str) else []
        if len(words) != 8 or words[0] != "STATE":
            return None
        return dict(zip(("epoch", "primary", "standby", "in_sync", "mode", "lease_ms", "cluster"), words[1:]))
