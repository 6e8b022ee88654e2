"""Configuration from files and the environment (docs/operations.md, "Configuration").

Every flag of ``understudy server`` and ``understudy witness`` may also come from a YAML or
JSON file (``--config FILE``, keys are the flag names without ``--``) or from an
``UNDERSTUDY_*`` environment variable. Precedence: command line > environment > file >
default. Invalid configuration is refused at start, naming the key, where it came from and
why, before anything is started; ``--print-config`` prints the effective configuration as
a file ``--config`` reads back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import HOST, STARTUP_TIMEOUT_SECONDS, STOP_TIMEOUT_SECONDS, free_port, port_is_free, understudy_binary, wait_until

pytestmark = pytest.mark.understudy_only

REFUSAL_TIMEOUT_SECONDS = 20.0
SETTING_LINE = re.compile(r"^(?P<key>[a-z0-9-]+): (?P<value>.*?)  # (?P<source>.*)$")


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without any ``UNDERSTUDY_*`` but the binary's path, plus ``variables``."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("UNDERSTUDY_")}
    environment.update(variables)
    return environment


def run_understudy(*arguments: str, environment: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs a command that must end by itself (a refusal, ``--print-config``)."""
    return subprocess.run([str(understudy_binary()), *arguments], env=environment or clean_environment(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=REFUSAL_TIMEOUT_SECONDS)


def print_config(*arguments: str, environment: dict[str, str] | None = None) -> str:
    result = run_understudy(*arguments, "--print-config", environment=environment)
    assert result.returncode == 0, f"--print-config failed ({result.returncode}): {result.stderr}"
    return result.stdout


def settings(printed: str) -> dict[str, tuple[str, str]]:
    """``key -> (value, source)`` from ``--print-config`` output."""
    found = {}
    for line in printed.splitlines():
        match = SETTING_LINE.match(line)
        if match:
            found[match["key"]] = (match["value"], match["source"])
    assert found, f"no settings in:\n{printed}"
    return found


def without_comments(printed: str) -> list[str]:
    return [line.split("  #")[0] for line in printed.splitlines() if line and not line.startswith("#")]


def redis_cli(port: int, *command: str) -> str:
    return subprocess.run(["redis-cli", "-h", HOST, "-p", str(port), *command], capture_output=True, text=True,
                          timeout=5, check=True).stdout


class Started:
    """A process started from a config file; stopped with SIGTERM (then killed) on exit."""

    def __init__(self, *arguments: str, environment: dict[str, str] | None = None, log: Path):
        self.log = log.open("w")
        self.process = subprocess.Popen([str(understudy_binary()), *arguments], env=environment or clean_environment(),
                                        stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self) -> "Started":
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        self.log.close()

    def wait_for_ping(self, port: int) -> None:
        def pong():
            assert self.process.poll() is None, f"exited with {self.process.returncode}"
            return redis_cli(port, "PING").strip() == "PONG"
        wait_until(pong, STARTUP_TIMEOUT_SECONDS, interval=0.05, message=f"PONG on port {port}")


@pytest.mark.parametrize("file_format", ["yaml", "json"])
def test_config_file_with_several_keys_starts_a_working_node(tmp_path, file_format):
    port = free_port()
    data_dir = tmp_path / "node"
    if file_format == "yaml":
        config = tmp_path / "node.yaml"
        config.write_text(f"# a node from a file\ndata-dir: {data_dir}\nlisten: {HOST}:{port}\nfsync: everysec\n"
                          "max-connections: 64\nlog-level: warning\n")
    else:
        config = tmp_path / "node.json"
        config.write_text(f'{{"data-dir": "{data_dir}", "listen": "{HOST}:{port}", "fsync": "no", '
                          '"max-connections": 64, "log-level": "warning"}')
    expected_fsync = "everysec" if file_format == "yaml" else "no"
    with Started("server", "--config", str(config), log=tmp_path / "node.log") as node:
        node.wait_for_ping(port)
        info = redis_cli(port, "INFO", "server") + redis_cli(port, "INFO", "persistence")
        assert f"tcp_port:{port}" in info, info
        assert f"appendfsync:{expected_fsync}" in info, info
        assert redis_cli(port, "SET", "k", "v").strip() == "OK"
        assert redis_cli(port, "GET", "k").strip() == "v"
    assert data_dir.is_dir(), "the node did not use the file's data-dir"


def test_environment_overrides_the_file_and_the_command_line_overrides_both(tmp_path):
    config = tmp_path / "node.yaml"
    config.write_text(f"data-dir: {tmp_path / 'from-file'}\nfsync: everysec\nlease: 400ms\nmax-connections: 10\n")
    environment = clean_environment(UNDERSTUDY_FSYNC="no", UNDERSTUDY_LEASE="300ms")
    printed = settings(print_config("server", "--config", str(config), "--lease", "200ms", environment=environment))
    assert printed["lease"] == ("200ms", "command line")
    assert printed["fsync"] == ('"no"', "environment variable UNDERSTUDY_FSYNC")
    assert printed["max-connections"] == ("10", f"config file {config}")
    assert printed["data-dir"] == (str(tmp_path / "from-file"), f"config file {config}")
    assert printed["failure-timeout"] == ("1s", "default")
    assert not (tmp_path / "from-file").exists(), "--print-config touched the data directory"


def test_config_file_named_by_the_environment_is_read(tmp_path):
    config = tmp_path / "node.yaml"
    config.write_text(f"data-dir: {tmp_path / 'd'}\nmax-waiting-writes: 77\n")
    printed = settings(print_config("server", environment=clean_environment(UNDERSTUDY_CONFIG=str(config))))
    assert printed["max-waiting-writes"] == ("77", f"config file {config}")


def test_an_environment_variable_of_another_subcommand_is_ignored(tmp_path):
    """``UNDERSTUDY_NODES`` is the witness's: a server started from the same environment ignores it."""
    environment = clean_environment(UNDERSTUDY_NODES="127.0.0.1:1,127.0.0.1:2")
    printed = settings(print_config("server", "--data-dir", str(tmp_path / "d"), environment=environment))
    assert "nodes" not in printed


# (file contents, environment, what stderr must say)
REFUSALS = {
    "unknown key in the file": (
        "max-lagg: 2MB\n", {}, ["config file", "unknown key 'max-lagg'", "did you mean 'max-lag-on-failover'"]),
    "bad value in the file": (
        "fsync: sometimes\n", {}, ["--fsync", "sometimes", "from config file", "always", "everysec"]),
    "lease not shorter than the failure timeout": (
        "lease: 1s\nfailure-timeout: 1s\n", {},
        ["--lease (1000 ms) must be shorter than --failure-timeout (1000 ms)",
         "two primaries could acknowledge writes at once", "--lease = 1s (from config file"]),
    "a list for a single value": ("listen: [a, b]\n", {}, ["key 'listen'", "takes one value, not a list"]),
    "a flag of the command line only": ("print-config: true\n", {}, ["key 'print-config'", "only on the command line"]),
    "unknown environment variable": (
        "", {"UNDERSTUDY_FSYNK": "no"}, ["environment variable UNDERSTUDY_FSYNK", "did you mean UNDERSTUDY_FSYNC"]),
    "bad value in the environment": (
        "", {"UNDERSTUDY_MAX_CONNECTIONS": "0"},
        ["--max-connections must be at least 1", "from environment variable UNDERSTUDY_MAX_CONNECTIONS"]),
    "not YAML": ("listen: [127.0.0.1:1\n", {}, ["config file", "not valid YAML or JSON"]),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_invalid_configuration_is_refused_with_its_reason(tmp_path, case):
    text, variables, expected = REFUSALS[case]
    port = free_port()
    data_dir = tmp_path / "never-created"
    config = tmp_path / "node.yaml"
    config.write_text(f"data-dir: {data_dir}\n" + (f"listen: {HOST}:{port}\n" if "listen" not in text else "") + text)
    result = run_understudy("server", "--config", str(config), environment=clean_environment(**variables))
    assert result.returncode != 0, f"started anyway: {result.stdout}{result.stderr}"
    for phrase in expected:
        assert phrase in result.stderr, f"{phrase!r} not in the message:\n{result.stderr}"
    assert not data_dir.exists(), "the refused node created its data directory"
    assert port_is_free(port), "the refused node bound its port"


def test_print_config_reads_back_to_the_same_configuration(tmp_path):
    config = tmp_path / "node.yaml"
    config.write_text(f"data-dir: {tmp_path / 'with space'}\nmax-bulk-bytes: 1024\n")
    environment = clean_environment(UNDERSTUDY_FSYNC="everysec")
    first = print_config("server", "--config", str(config), "--peer", "127.0.0.1:7999", "--role", "standby",
                         environment=environment)
    printed = tmp_path / "printed.yaml"
    printed.write_text(first)
    second = print_config("server", "--config", str(printed))
    assert without_comments(second) == without_comments(first)
    assert all(source in ("default", f"config file {printed}") for _, source in settings(second).values())
    assert print_config("server", "--config", str(printed)) == second, "--print-config is not stable"


def test_witness_reads_a_config_file_and_round_trips(tmp_path):
    port = free_port()
    config = tmp_path / "witness.yaml"
    config.write_text(f"data-dir: {tmp_path / 'witness'}\nlisten: {HOST}:{port}\n"
                      "nodes: 127.0.0.1:7001,127.0.0.1:7002\nlog-level: warning\n")
    first = print_config("witness", "--config", str(config))
    assert settings(first)["nodes"] == ("127.0.0.1:7001,127.0.0.1:7002", f"config file {config}")
    printed = tmp_path / "printed.yaml"
    printed.write_text(first)
    assert without_comments(print_config("witness", "--config", str(printed))) == without_comments(first)
    refused = run_understudy("witness", "--config", str(config), "--nodes", "127.0.0.1:7001")
    assert refused.returncode != 0 and "--nodes must name exactly two" in refused.stderr, refused.stderr
    with Started("witness", "--config", str(config), log=tmp_path / "witness.log") as witness:
        witness.wait_for_ping(port)
    assert (tmp_path / "witness").is_dir()


def test_the_documented_key_table_is_the_binarys():
    """docs/operations.md lists every configuration key: the table `scripts/config-keys`
    prints from the binary's own flags must appear there as is (regenerate it after adding
    a flag)."""
    root = Path(__file__).resolve().parent.parent
    printed = subprocess.run([sys.executable, str(root / "scripts" / "config-keys"), str(understudy_binary())],
                             capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    documented = (root / "docs" / "operations.md").read_text()
    assert printed in documented, "docs/operations.md's key table is stale: run scripts/config-keys and paste its output"
