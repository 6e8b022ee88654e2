"""Redis Sentinel discovery on the witness's port, against real processes: redis-py's
``redis.sentinel.Sentinel``, ``redis-cli`` and a raw subscriber see the witness as the one
Sentinel of master ``understudy``, and a client made by ``master_for`` follows a ``kill -9``
failover and an ``understudy switchover`` with no change to its code.

Every wait polls with a deadline; every write loop is bounded in count and time; every
acknowledged write is read back from the new primary afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis
from redis.sentinel import Sentinel

from harness import HOST
from resp import Err, RawClient, encode
from test_operator import nodes_flag, run_cli

pytestmark = [pytest.mark.understudy_only, pytest.mark.slow]

MASTER_NAME = "understudy"
#: Writes before the fault, and acknowledged writes the new primary must take after it.
WRITES_BEFORE = 50
WRITES_AFTER = 50
#: The whole write loop's bound: a failover takes about the failure timeout (1 s).
WRITE_DEADLINE_SECONDS = 30.0
MAX_WRITES = 20_000


def sentinel_of(cluster) -> Sentinel:
    return Sentinel([(HOST, cluster.witness.port)], socket_timeout=1.0)


def subscribe(cluster, *channels: str) -> RawClient:
    client = RawClient(HOST, cluster.witness.port, timeout=10.0)
    for index, channel in enumerate(channels, start=1):
        client.send(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel.encode()))
        assert client.read_reply() == ["subscribe", channel, index]
    return client


def next_message(client: RawClient, channel: str) -> str:
    """The next ``message`` on ``channel`` (others skipped), within the client's timeout."""
    deadline = time.monotonic() + client.timeout
    while time.monotonic() < deadline:
        reply = client.read_reply()
        assert isinstance(reply, list) and reply[0] == "message", f"not a Pub/Sub message: {reply!r}"
        if reply[1] == channel:
            return reply[2]
    raise AssertionError(f"no message on {channel} within {client.timeout}s")


def test_discovery_names_the_primary_and_its_standby(make_cluster):
    cluster = make_cluster("sync")
    primary = cluster.primary()
    standby = cluster.other(primary)
    sentinel = sentinel_of(cluster)
    assert sentinel.discover_master(MASTER_NAME) == (HOST, primary.port)
    cluster.wait(lambda: sentinel.discover_slaves(MASTER_NAME) == [(HOST, standby.port)], 5.0,
                 "the witness names the standby as the only replica")
    with pytest.raises(redis.sentinel.MasterNotFoundError):
        sentinel.discover_master("no-such-cluster")
    state = sentinel.sentinels[0].sentinel_master(MASTER_NAME)
    assert state["is_master"] and not state["is_sdown"] and state["num-other-sentinels"] == 0
    assert state["config-epoch"] == int(cluster.witness.status()["epoch"])
    with RawClient(HOST, cluster.witness.port) as raw:
        assert raw.call("SENTINEL", "get-master-addr-by-name", "no-such-cluster") is None
        assert isinstance(raw.call("SENTINEL", "master", "no-such-cluster"), Err)
        assert raw.call("ROLE") == ["sentinel", [MASTER_NAME]]
        assert isinstance(raw.call("HELLO", "4"), Err)


def test_resp3_clients_get_maps_and_push_messages(make_cluster):
    """``HELLO 3`` on the witness's port: instance fields come as RESP3 maps and Pub/Sub
    messages as push frames, as a Redis 7 Sentinel sends them; redis-py's Sentinel client with
    its defaults (RESP3 first) discovers without falling back or warning."""
    import warnings

    cluster = make_cluster("sync")
    primary = cluster.primary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sentinel = sentinel_of(cluster)
        assert sentinel.discover_master(MASTER_NAME) == (HOST, primary.port)
        connection = sentinel.sentinels[0].connection_pool.get_connection()
        try:
            assert int(connection.protocol) == 3, "redis-py negotiated RESP3 with the witness"
        finally:
            sentinel.sentinels[0].connection_pool.release(connection)
    with RawClient(HOST, cluster.witness.port) as raw:
        hello = raw.call("HELLO", "3")
        assert isinstance(hello, dict) and hello["proto"] == 3 and hello["mode"] == "sentinel", hello
        raw.send(encode("SENTINEL", "MASTER", MASTER_NAME))
        fields, wire = raw.read_reply_raw()
        assert wire.startswith(b"%") and fields["name"] == MASTER_NAME, f"SENTINEL MASTER is a map in RESP3: {wire[:80]!r}"
    subscriber = RawClient(HOST, cluster.witness.port, timeout=10.0)
    try:
        assert isinstance(subscriber.call("HELLO", "3"), dict)
        subscriber.send(encode("SUBSCRIBE", "+switch-master"))
        confirmation, wire = subscriber.read_reply_raw()
        assert wire.startswith(b">") and confirmation == ["subscribe", "+switch-master", 1], wire
        result = run_cli("switchover", "--nodes", nodes_flag(cluster))
        assert result.returncode == 0, result.stderr
        message, wire = subscriber.read_reply_raw()
        assert wire.startswith(b">"), f"a RESP3 message is a push frame: {wire[:80]!r}"
        assert message[:2] == ["message", "+switch-master"], message
        assert message[2].startswith(f"{MASTER_NAME} {HOST} {primary.port} "), message
    finally:
        subscriber.close()


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")
def test_redis_cli_asks_the_witness_for_the_primary(make_cluster):
    cluster = make_cluster("sync")
    primary = cluster.primary()
    result = subprocess.run(["redis-cli", "-h", HOST, "-p", str(cluster.witness.port), "SENTINEL",
                             "get-master-addr-by-name", MASTER_NAME], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [HOST, str(primary.port)]


@pytest.mark.parametrize("fault", ["kill9", "switchover"])
def test_master_for_follows_the_primary_and_subscribers_hear_the_switch(make_cluster, fault):
    cluster = make_cluster("sync")
    old = cluster.primary()
    new = cluster.other(old)
    subscriber = subscribe(cluster, "+switch-master")
    client = sentinel_of(cluster).master_for(MASTER_NAME, socket_timeout=1.0, decode_responses=True)
    acknowledged: dict[str, str] = {}
    errors: list[str] = []
    faulted_at = None
    deadline = time.monotonic() + WRITE_DEADLINE_SECONDS
    for index in range(MAX_WRITES):
        if time.monotonic() > deadline:
            break
        if faulted_at is None and len(acknowledged) >= WRITES_BEFORE:
            faulted_at = len(acknowledged)
            if fault == "kill9":
                cluster.kill9(old)
            else:
                result = run_cli("switchover", "--nodes", nodes_flag(cluster))
                assert result.returncode == 0, f"switchover failed: {result.stdout}{result.stderr}"
        elif faulted_at is not None and len(acknowledged) >= faulted_at + WRITES_AFTER:
            break
        key, value = f"sentinel-{fault}-{index}", str(index)
        try:
            client.set(key, value)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.ResponseError) as error:
            errors.append(f"{type(error).__name__}: {error}")
            continue
        acknowledged[key] = value
    print(f"{fault}: {len(acknowledged)} writes acknowledged, {len(errors)} errors in the failover window: {errors[:3]}")
    assert faulted_at is not None, f"only {len(acknowledged)} writes before the deadline; errors: {errors[:5]}"
    assert len(acknowledged) >= faulted_at + WRITES_AFTER, (
        f"only {len(acknowledged) - faulted_at} writes after the {fault} within {WRITE_DEADLINE_SECONDS}s; "
        f"errors: {errors[-5:]}\n{cluster.describe()}")
    assert client.connection_pool.get_master_address() == (HOST, new.port)
    assert cluster.role(new) == "master"
    switched = next_message(subscriber, "+switch-master")
    assert switched == f"{MASTER_NAME} {HOST} {old.port} {HOST} {new.port}"
    subscriber.close()
    if fault == "kill9":
        # The dead old primary is now a replica the witness does not hear: down, and no
        # longer offered to clients that read from replicas.
        sentinel = sentinel_of(cluster)
        cluster.wait(lambda: sentinel.discover_slaves(MASTER_NAME) == [], 10.0, "the killed node is reported s_down")
        replicas = sentinel.sentinels[0].sentinel_slaves(MASTER_NAME)
        assert [(replica["port"], replica["is_sdown"]) for replica in replicas] == [(old.port, True)]
    reader = new.client()
    values = reader.mget(list(acknowledged))
    missing = [key for key, value in zip(acknowledged, values) if value != acknowledged[key]]
    assert not missing, f"{len(missing)} acknowledged writes missing on the new primary: {missing[:5]}"
