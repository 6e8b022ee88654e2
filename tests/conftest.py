"""Fixtures for the process-level suite.

Target: ``--target understudy|redis`` or env ``TARGET`` (default ``understudy``). With
``redis`` the command-behaviour tests run against Debian's ``redis-server`` 7.0.15 so that
every expectation is checked against the real thing; tests marked ``understudy_only``
(limits, durability, crash safety) are skipped there.

Protocol: ``--protocol 2|3|both`` or env ``RESP_PROTOCOL`` (default ``both``). The command
suites (``PROTOCOL_SUITES``) run once per protocol: their ``r``, ``rb`` and ``raw`` clients
speak RESP2, or RESP3 after ``HELLO 3`` (test ids ``[resp2]``, ``[resp3]``). Every other
test's clients speak RESP2.
"""

from __future__ import annotations

import os

import pytest

from harness import ReplicationPair, ServerProcess


#: The command suites that run under RESP2 and RESP3 alike (module names).
PROTOCOL_SUITES = {"test_strings", "test_keyspace", "test_expiry"}


def pytest_addoption(parser):
    parser.addoption(
        "--target",
        default=os.environ.get("TARGET", "understudy"),
        choices=("understudy", "redis"),
        help="server under test: understudy (default) or Debian's redis-server",
    )
    parser.addoption(
        "--protocol",
        default=os.environ.get("RESP_PROTOCOL", "both"),
        choices=("2", "3", "both"),
        help="RESP version of the command suites' clients: 2, 3 or both (default)",
    )


def pytest_generate_tests(metafunc):
    """Runs every test of a command suite that uses ``r``, ``rb`` or ``raw`` once per protocol."""
    if "resp_protocol" not in metafunc.fixturenames or metafunc.module.__name__ not in PROTOCOL_SUITES:
        return
    chosen = metafunc.config.getoption("--protocol")
    protocols = [2, 3] if chosen == "both" else [int(chosen)]
    metafunc.parametrize("resp_protocol", protocols, ids=[f"resp{version}" for version in protocols])


def pytest_configure(config):
    config.addinivalue_line("markers", "understudy_only: needs understudy (flags, WAL files, durability)")
    config.addinivalue_line("markers", "slow: takes seconds (crash, restart, benchmark)")


def pytest_report_header(config):
    from harness import understudy_binary

    target = config.getoption("--target")
    extra = f" ({understudy_binary()})" if target == "understudy" else ""
    return f"target: {target}{extra}"


def pytest_collection_modifyitems(config, items):
    if config.getoption("--target") == "understudy":
        return
    skip = pytest.mark.skip(reason="understudy-only test (target is redis)")
    for item in items:
        if "understudy_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def target(pytestconfig) -> str:
    return pytestconfig.getoption("--target")


@pytest.fixture(scope="session")
def is_understudy(target) -> bool:
    return target == "understudy"


@pytest.fixture(scope="session")
def server(target, tmp_path_factory):
    """One server shared by the command-behaviour tests (each test starts from FLUSHALL)."""
    process = ServerProcess(target, tmp_path_factory.mktemp("shared-server"))
    try:
        process.start()
        yield process
    finally:
        process.kill()


@pytest.fixture
def resp_protocol() -> int:
    """The RESP version of ``r``, ``rb`` and ``raw``: 2, except in the command suites, where
    ``pytest_generate_tests`` runs each test with 2 and 3."""
    return 2


def _assert_protocol(client, version: int) -> None:
    """redis-py negotiated ``version`` (with RESP3, HELLO 3 was accepted, not fallen back from)."""
    connection = client.connection_pool.get_connection()
    try:
        assert int(connection.protocol) == version, f"redis-py speaks RESP{connection.protocol}, not RESP{version}"
    finally:
        client.connection_pool.release(connection)


@pytest.fixture
def r(server, resp_protocol):
    client = server.client(protocol=resp_protocol)
    client.flushall()
    _assert_protocol(client, resp_protocol)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def rb(server, resp_protocol):
    """A redis-py client that returns bytes (binary-safe checks)."""
    client = server.client(decode_responses=False, protocol=resp_protocol)
    client.flushall()
    _assert_protocol(client, resp_protocol)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def raw(server, resp_protocol):
    client = server.raw()
    if resp_protocol != 2:
        client.use_protocol(resp_protocol)
    assert client.call("FLUSHALL") == "OK"
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def make_server(target, tmp_path_factory):
    """Factory for dedicated servers; every one is killed at teardown, whatever happened."""
    started: list[ServerProcess] = []

    def factory(server_target: str | None = None, **options) -> ServerProcess:
        process = ServerProcess(server_target or target, tmp_path_factory.mktemp("server"), **options)
        started.append(process)
        return process.start()

    try:
        yield factory
    finally:
        for process in started:
            process.kill()


@pytest.fixture
def make_node(tmp_path_factory):
    """Factory for understudy nodes that are NOT started yet (``port=`` fixes the port across
    restarts); every one is killed at teardown."""
    created: list[ServerProcess] = []

    def factory(**options) -> ServerProcess:
        process = ServerProcess("understudy", tmp_path_factory.mktemp("node"), **options)
        created.append(process)
        return process

    try:
        yield factory
    finally:
        for process in created:
            process.kill()


@pytest.fixture
def make_pair(tmp_path_factory):
    """Factory for a primary-standby pair (``harness.ReplicationPair``), started unless
    ``start=False``; both nodes are killed at teardown, whatever happened."""
    pairs: list[ReplicationPair] = []

    def factory(mode: str = "sync", start: bool = True, **options) -> ReplicationPair:
        pair = ReplicationPair(tmp_path_factory.mktemp("primary"), tmp_path_factory.mktemp("standby"), mode, **options)
        pairs.append(pair)
        return pair.start() if start else pair

    try:
        yield factory
    finally:
        for pair in pairs:
            pair.kill()


@pytest.fixture
def make_cluster(tmp_path_factory):
    """Factory for a witness and two data nodes (``cluster.Cluster``): ``make_cluster(mode=
    "sync"|"async", proxies=False, start=True, **flags)``. Started (and ready) unless
    ``start=False``; every process is killed and every proxy closed at teardown."""
    from cluster import Cluster

    clusters: list[Cluster] = []

    def factory(mode: str = "sync", proxies: bool = False, start: bool = True, **flags) -> Cluster:
        cluster = Cluster(tmp_path_factory.mktemp("cluster"), mode, proxies=proxies, **flags)
        clusters.append(cluster)
        return cluster.start() if start else cluster

    try:
        yield factory
    finally:
        for cluster in clusters:
            cluster.close()
