"""The MQTT connection against a real mosquitto: reconnect, outbox, expiry, auth, TLS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import aiomqtt
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from assistant.config import MqttConfig
from assistant.errors import UserError
from assistant.transports.mqtt import (
    CommandExpired,
    Incoming,
    MqttConnection,
    Published,
    Retained,
)
from assistant.transports.mqtt_options import backoff_delay
from assistant.transports.mqtt_topics import topic_matches
from tests.conftest import Broker, free_port, running_broker


def _config(broker: Broker, **extra: object) -> MqttConfig:
    return MqttConfig.model_validate({"host": broker.host, "port": broker.port, **extra})


@pytest.fixture
def persistent_broker(tmp_path: Path) -> Iterator[Broker]:
    """A mosquitto that keeps sessions and queued QoS 1 messages across a restart."""
    # "user root": as root, mosquitto would otherwise switch to user
    # "mosquitto", which cannot write the database into the test's directory.
    settings = (
        f"allow_anonymous true\npersistence true\nuser root\npersistence_location {tmp_path}/\n"
    )
    with running_broker(tmp_path, settings) as b:
        yield b


class FleetSubscriber:
    """A device-like subscriber: persistent session (clean_session=False), QoS 1, reconnects.

    It records every delivery with the DUP flag.  A second publication of a
    command by the assistant reaches it as a new message (dup=False);
    dup=True is the broker re-delivering a message it had already sent
    this subscriber when the broker went away, which is the subscriber
    session's business and not a second command.
    """

    def __init__(self, broker: Broker, topic_filter: str) -> None:
        self.received: list[tuple[str, bool]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fleet-{uuid.uuid4().hex[:8]}",
            clean_session=False,
        )  # fmt: skip
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=5)
        self.client.loop_start()

    def _on_message(self, client: object, userdata: object, message: paho.MQTTMessage) -> None:
        with self.lock:
            self.received.append((message.payload.decode(), bool(message.dup)))

    def delivered(self) -> set[str]:
        """Every payload that arrived, at least once."""
        with self.lock:
            return {payload for payload, _ in self.received}

    def published_twice(self) -> list[str]:
        """Payloads that arrived as more than one publication (dup=False twice)."""
        with self.lock:
            fresh = [payload for payload, dup in self.received if not dup]
        return sorted({p for p in fresh if fresh.count(p) > 1})

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def until(predicate: Callable[[], bool], interval: float = 0.02) -> None:
    """Poll a condition (callers wrap this in a timeout)."""
    while not predicate():  # noqa: ASYNC110 - the condition lives in another thread
        await asyncio.sleep(interval)


def test_topic_filters_match_like_mqtt() -> None:
    assert topic_matches("a/+/c", "a/b/c")
    assert topic_matches("a/#", "a")
    assert topic_matches("a/#", "a/b/c")
    assert topic_matches("#", "x/y")
    assert not topic_matches("a/+", "a/b/c")
    assert not topic_matches("a/b", "a/c")
    assert not topic_matches("#", "$SYS/broker")


def test_backoff_doubles_from_one_second_to_thirty_with_jitter() -> None:
    assert [backoff_delay(n, lambda: 0.5) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff_delay(0, lambda: 0.0) == 0.75
    assert backoff_delay(0, lambda: 1.0) == 1.25
    assert backoff_delay(100, lambda: 1.0) == 30


async def test_publish_waits_for_puback_and_handlers_get_messages(broker: Broker) -> None:
    topic = f"t/{uuid.uuid4().hex}"
    got: list[Incoming] = []
    async with asyncio.timeout(20), MqttConnection(_config(broker)) as conn:
        conn.subscribe(f"{topic}/#", got.append)
        await conn.wait_subscribed()
        result = await conn.publish(f"{topic}/a", "hello")
        assert result == Published(f"{topic}/a", "hello", result.waited_seconds)
        await until(lambda: bool(got))
    assert got[0].topic == f"{topic}/a"
    assert got[0].payload == b"hello"


async def test_subscriptions_are_restored_after_a_broker_restart(broker: Broker) -> None:
    topic = f"t/{uuid.uuid4().hex}"
    got: list[bytes] = []
    async with asyncio.timeout(40), MqttConnection(_config(broker)) as conn:
        conn.subscribe(topic, lambda m: got.append(m.payload))
        await conn.wait_subscribed()
        await asyncio.to_thread(broker.stop)
        await until(lambda: not conn.connected)
        await asyncio.to_thread(broker.start)
        await conn.wait_subscribed()
        assert conn.connections == 2
        async with aiomqtt.Client(broker.host, broker.port) as other:
            await other.publish(topic, "after", qos=1)
        await until(lambda: bool(got))
    assert got == [b"after"]


async def _burst(
    broker: Broker, conn: MqttConnection, topic: str, stop_at: int, start_at: int
) -> tuple[list[str], list[str]]:
    async def one(i: int) -> tuple[str, bool]:
        try:
            await conn.publish(f"{topic}/cmd", str(i))
        except CommandExpired:
            return str(i), False
        return str(i), True

    tasks = []
    for i in range(100):
        if i == stop_at:
            await asyncio.to_thread(broker.stop)
        if i == start_at:
            await asyncio.to_thread(broker.start)
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(0.02)
    outcomes = await asyncio.gather(*tasks)
    sent = [payload for payload, ok in outcomes if ok]
    expired = [payload for payload, ok in outcomes if not ok]
    return sent, expired


async def _wait_for(fleet: FleetSubscriber, wanted: set[str]) -> None:
    # Bounded: if something is missing the assertions that follow show what.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(15):
            await until(lambda: wanted <= fleet.delivered())
    await asyncio.sleep(0.5)  # anything extra (a duplicate) would arrive now


async def test_burst_of_100_commands_through_a_broker_restart_arrives_exactly_once(
    persistent_broker: Broker,
) -> None:
    topic = f"burst/{uuid.uuid4().hex}"
    fleet = FleetSubscriber(persistent_broker, f"{topic}/#")
    try:
        assert await asyncio.to_thread(fleet.subscribed.wait, 10)
        async with asyncio.timeout(60), MqttConnection(_config(persistent_broker)) as conn:
            await conn.wait_connected()
            sent, expired = await _burst(persistent_broker, conn, topic, 30, 45)
            assert conn.connections == 2  # it came back by itself
            await _wait_for(fleet, set(sent))
    finally:
        fleet.close()
    assert expired == []  # a ~1-3 s outage is well inside the 10 s TTL
    assert fleet.delivered() == {str(i) for i in range(100)}
    assert fleet.published_twice() == []


async def test_commands_older_than_the_ttl_expire_and_are_reported(
    persistent_broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    topic = f"burst/{uuid.uuid4().hex}"
    fleet = FleetSubscriber(persistent_broker, f"{topic}/#")
    config = _config(persistent_broker, command_ttl_seconds=0.3)
    try:
        assert await asyncio.to_thread(fleet.subscribed.wait, 10)
        async with asyncio.timeout(60), MqttConnection(config) as conn:
            await conn.wait_connected()
            with caplog.at_level(logging.WARNING, logger="assistant.transports.mqtt"):
                sent, expired = await _burst(persistent_broker, conn, topic, 20, 80)
            await conn.wait_connected()
            await _wait_for(fleet, set(sent))
    finally:
        fleet.close()
    assert expired, "a 1.2 s outage with a 0.3 s TTL must expire commands"
    assert set(sent) | set(expired) == {str(i) for i in range(100)}
    assert fleet.delivered() == set(sent)  # what expired never fires later
    assert fleet.published_twice() == []
    dropped = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == len(expired)


async def test_the_outbox_is_bounded(broker: Broker) -> None:
    broker.stop()
    config = _config(broker, queue_size=3, command_ttl_seconds=30)
    async with asyncio.timeout(20), MqttConnection(config) as conn:
        tasks = [asyncio.create_task(conn.publish("q/x", str(i))) for i in range(5)]
        done, _ = await asyncio.wait(tasks, timeout=2)
        assert set(tasks[:2]) == done
        for task in done:
            with pytest.raises(CommandExpired, match="queue is full"):
                task.result()
        for task in tasks[2:]:
            task.cancel()


async def test_unreachable_broker_is_one_clear_error() -> None:
    config = MqttConfig(host="127.0.0.1", port=free_port())
    async with asyncio.timeout(20), MqttConnection(config, reconnect=False) as conn:
        with pytest.raises(UserError, match=r"cannot connect to the MQTT broker at 127\.0\.0\.1"):
            await conn.connect_or_raise(timeout=5)


def _tls_broker(tmp_path: Path, *, client_certificates: bool = False) -> tuple[Broker, Path]:
    openssl = shutil.which("openssl")
    passwd = shutil.which("mosquitto_passwd")
    if openssl is None or passwd is None:
        pytest.skip("openssl and mosquitto_passwd are needed")
    run = lambda *args: subprocess.run(args, check=True, capture_output=True, cwd=tmp_path)  # noqa: E731
    run(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=test-ca")  # fmt: skip
    run(openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=localhost")  # fmt: skip
    (tmp_path / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run(openssl, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "ext.cnf")  # fmt: skip
    run(openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key",
        "-out", "client.csr", "-subj", "/CN=assistant")  # fmt: skip
    run(openssl, "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "client.crt", "-days", "1")  # fmt: skip
    run(passwd, "-b", "-c", str(tmp_path / "passwords"), "alice", "s3cret")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        # As root, mosquitto would switch to user "mosquitto" before reading
        # the password file in the test's private directory.
        f"listener {port} 127.0.0.1\nallow_anonymous false\npersistence false\nuser root\n"
        f"password_file {tmp_path}/passwords\ncafile {tmp_path}/ca.crt\n"
        f"certfile {tmp_path}/server.crt\nkeyfile {tmp_path}/server.key\n"
        + ("require_certificate true\n" if client_certificates else ""),
        encoding="utf-8",
    )
    (tmp_path / "passwords").chmod(0o600)
    return Broker(port=port, conf=conf), tmp_path / "ca.crt"


async def test_tls_with_password_connects_and_a_wrong_password_is_a_clear_error(
    tmp_path: Path,
) -> None:
    broker, ca = _tls_broker(tmp_path)
    await asyncio.to_thread(broker.start)
    try:
        good = _config(broker, tls=True, ca_file=str(ca), username="alice", password="s3cret")
        async with asyncio.timeout(20), MqttConnection(good, reconnect=False) as conn:
            await conn.connect_or_raise(timeout=10)
            assert (await conn.publish("tls/x", "ok")).payload == "ok"
        bad = _config(broker, tls=True, ca_file=str(ca), username="alice", password="nope")
        async with asyncio.timeout(20), MqttConnection(bad, reconnect=False) as conn:
            with pytest.raises(UserError, match="refused the connection"):
                await conn.connect_or_raise(timeout=10)
        untrusted = _config(broker, tls=True, username="alice", password="s3cret")
        async with asyncio.timeout(20), MqttConnection(untrusted, reconnect=False) as conn:
            with pytest.raises(UserError, match=r"(?i)certificate"):
                await conn.connect_or_raise(timeout=10)
        insecure = _config(broker, tls=True, tls_insecure=True, username="alice",
                           password="s3cret")  # fmt: skip
        async with asyncio.timeout(20), MqttConnection(insecure, reconnect=False) as conn:
            await conn.connect_or_raise(timeout=10)
    finally:
        broker.stop()


async def test_tls_with_a_client_certificate(tmp_path: Path) -> None:
    broker, ca = _tls_broker(tmp_path, client_certificates=True)
    await asyncio.to_thread(broker.start)
    try:
        common = {"tls": True, "ca_file": str(ca), "username": "alice", "password": "s3cret"}
        with_cert = _config(broker, **common, cert_file=str(tmp_path / "client.crt"),
                            key_file=str(tmp_path / "client.key"))  # fmt: skip
        async with asyncio.timeout(20), MqttConnection(with_cert, reconnect=False) as conn:
            await conn.connect_or_raise(timeout=10)
        without = _config(broker, **common)
        async with asyncio.timeout(20), MqttConnection(without, reconnect=False) as conn:
            with pytest.raises(UserError, match="certificate required"):
                await conn.connect_or_raise(timeout=10)
    finally:
        broker.stop()


async def test_birth_on_every_connection_and_will_when_the_process_vanishes(
    broker: Broker,
) -> None:
    topic = f"presence/{uuid.uuid4().hex}"
    config = _config(broker, keepalive=5)
    seen: list[bytes] = []
    async with asyncio.timeout(40), MqttConnection(_config(broker)) as watcher:
        watcher.subscribe(topic, lambda m: seen.append(m.payload))
        await watcher.wait_subscribed()
        conn = MqttConnection(
            config, will=Retained(topic, "offline"), birth=Retained(topic, "online")
        )
        await conn.__aenter__()
        await until(lambda: seen == [b"online"])
        # Vanish without a DISCONNECT: shut the socket down under paho.
        assert conn._client is not None
        conn._client._client.socket().shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
        await until(lambda: b"offline" in seen)
        await until(lambda: seen[-1] == b"online")  # reconnected: birth again
        await conn.__aexit__(None, None, None)


async def _publisher_stops_when_cancelled(client_type: type[aiomqtt.Client], broker: Broker) -> int:
    """Cancel a task that publishes at QoS 1 at many points; count the cancels it ignored."""
    ignored = 0
    async with client_type(broker.host, broker.port) as client:

        async def publish_forever() -> None:
            while True:
                await client.publish("test/cancel", "x", qos=1, timeout=5)

        for attempt in range(150):
            task = asyncio.create_task(publish_forever())
            # Land the cancel at a different moment of the PUBLISH/PUBACK exchange each time.
            await asyncio.sleep((attempt % 30) * 0.0001)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=1)
            if not done:
                ignored += 1
                while not task.done():  # each further cancel may be swallowed as well
                    task.cancel()
                    await asyncio.wait({task}, timeout=0.1)
    return ignored


async def test_a_publishing_task_always_stops_when_cancelled(broker: Broker) -> None:
    # Python 3.11's asyncio.wait_for (which plain aiomqtt uses for acknowledgements)
    # swallows a cancel that meets the PUBACK; the fleet and the service must not.
    from assistant.transports.mqtt_client import Client

    assert await _publisher_stops_when_cancelled(Client, broker) == 0
