"""The simulated fleet: a home's devices on a real MQTT broker.

It announces every entity with a retained Home Assistant discovery config,
marks itself online (last will: offline), listens on the command topics,
changes state the way the real device would and publishes the new state,
retained.  Every command received is recorded for tests (``received``), and
``wait_for_commands`` / ``wait_for_state`` let a test await what the fleet
saw without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any, NamedTuple

import aiomqtt

from assistant.config import MqttConfig
from assistant.devices.entities import EntityState
from assistant.errors import UserError
from assistant.simulate.behaviour import BadCommand, apply_command, initial_state
from assistant.simulate.configs import Announcement, announce, availability_topic
from assistant.simulate.home import EntitySpec, Home
from assistant.simulate.reports import describe, shared_sensor_messages, state_messages
from assistant.transports.mqtt_client import Client

log = logging.getLogger("assistant.simulate")

BACKOFF_START, BACKOFF_MAX = 1.0, 30.0
PUBLISH_TIMEOUT = 5.0


class Received(NamedTuple):
    """One command the fleet received: (entity_id, topic, payload), and when (monotonic)."""

    entity_id: str
    topic: str
    payload: str
    at: float = 0.0


def client_options(mqtt: MqttConfig) -> dict[str, Any]:
    """aiomqtt.Client keyword arguments from the [mqtt] config (no client id, no will)."""
    options: dict[str, Any] = {
        "hostname": mqtt.host,
        "port": mqtt.port,
        "username": mqtt.username,
        "password": mqtt.password,
        "keepalive": mqtt.keepalive,
        # Without it, Nagle's algorithm holds a state publish behind the PUBACK
        # just sent until the broker's delayed ACK (~40 ms per command).
        "socket_options": [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    }
    if mqtt.tls:
        context = ssl.create_default_context(cafile=str(mqtt.ca_file) if mqtt.ca_file else None)
        if mqtt.cert_file:
            context.load_cert_chain(
                str(mqtt.cert_file), str(mqtt.key_file) if mqtt.key_file else None
            )
        if mqtt.tls_insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        options["tls_context"] = context
        options["tls_insecure"] = mqtt.tls_insecure
    return options


class Fleet:
    """Simulated devices for one home.  Use `async with Fleet(...)` or `await run()`."""

    def __init__(
        self,
        home: Home,
        mqtt: MqttConfig,
        prefix: str = "homeassistant",
        *,
        clear_on_exit: bool = False,
    ) -> None:
        self.home = home
        self.prefix = prefix
        self.clear_on_exit = clear_on_exit
        self._mqtt = mqtt
        self._client_id = f"assistant-simulate-{uuid.uuid4().hex[:8]}"
        self.announcements: dict[str, Announcement] = {
            spec.entity_id: announce(home, spec, prefix) for spec in home.entities
        }
        self._specs: dict[str, EntitySpec] = {s.entity_id: s for s in home.entities}
        self._routes: dict[str, tuple[str, str]] = {
            topic: (a.entity_id, role)
            for a in self.announcements.values()
            for topic, role in a.commands.items()
        }
        self.states: dict[str, EntityState] = {
            spec.entity_id: initial_state(spec) for spec in home.entities
        }
        self.received: list[Received] = []
        self.warnings = 0
        self.connected = asyncio.Event()
        self.disconnected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------
    async def __aenter__(self) -> Fleet:
        """Start serving and wait until the first connection has announced everything."""
        self._task = asyncio.create_task(self.run(), name="simulate-fleet")
        ready = asyncio.create_task(self.connected.wait(), name="simulate-ready")
        try:
            await asyncio.wait({self._task, ready}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if self._task.done():
            self._task.result()  # re-raise what stopped it
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Say goodbye (offline; configs removed with clear_on_exit) and stop."""
        if self._task is None:
            return
        self._task.cancel()
        # Bounded: a broker that never answers the goodbye must not hold the caller.
        done, _ = await asyncio.wait({self._task}, timeout=2 * PUBLISH_TIMEOUT)
        if not done:
            log.warning("the fleet did not stop in time; abandoning its connection")
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=PUBLISH_TIMEOUT)
        elif not self._task.cancelled() and self._task.exception() is not None:
            log.warning("the fleet stopped with an error: %s", self._task.exception())

    async def run(self) -> None:
        """Serve until cancelled; reconnect with jittered, capped backoff when the broker goes."""
        delay = BACKOFF_START
        will = aiomqtt.Will(availability_topic(self.home), "offline", qos=1, retain=True)
        while True:
            try:
                # A persistent session (clean_session off, QoS 1 subscriptions),
                # as a device should have: while the fleet reconnects, the
                # broker keeps the commands sent to it instead of dropping them.
                async with Client(
                    **client_options(self._mqtt),
                    identifier=self._client_id,
                    will=will,
                    clean_session=False,
                ) as client:
                    self._client = client
                    await self._announce(client)
                    log.info(
                        "simulating %d entities of %r on %s:%d",
                        len(self.states),
                        self.home.name,
                        self._mqtt.host,
                        self._mqtt.port,
                    )
                    delay = BACKOFF_START
                    self.disconnected.clear()
                    self.connected.set()
                    try:
                        async for message in client.messages:
                            await self._on_message(client, message)
                    except asyncio.CancelledError:
                        await self._goodbye(client)
                        raise
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                self.disconnected.set()
                self._client = None
                if "not authori" in str(exc).lower() or "bad user" in str(exc).lower():
                    raise UserError(f"MQTT broker refused the fleet: {exc}") from None
                wait = delay * random.uniform(0.8, 1.2)
                log.warning(
                    "MQTT broker %s:%d: %s; retrying in %.1f s",
                    self._mqtt.host,
                    self._mqtt.port,
                    exc,
                    wait,
                )
                await asyncio.sleep(wait)
                delay = min(delay * 2, BACKOFF_MAX)
            finally:
                self.connected.clear()
                self.disconnected.set()
                self._client = None

    async def _announce(self, client: aiomqtt.Client) -> None:
        import json

        if self._routes:
            await client.subscribe([(topic, 1) for topic in self._routes])
        for item in self.announcements.values():
            await client.publish(item.topic, json.dumps(item.config), qos=1, retain=True)
        for entity_id in self.states:
            await self._publish_state(client, entity_id)
        for topic, payload in shared_sensor_messages(self.home, self.states):
            await client.publish(topic, payload, qos=1, retain=True)
        await client.publish(availability_topic(self.home), "online", qos=1, retain=True)

    async def _goodbye(self, client: aiomqtt.Client) -> None:
        try:
            await client.publish(
                availability_topic(self.home),
                "offline",
                qos=1,
                retain=True,
                timeout=PUBLISH_TIMEOUT,
            )
            if self.clear_on_exit:
                for item in self.announcements.values():
                    await client.publish(
                        item.topic, b"", qos=1, retain=True, timeout=PUBLISH_TIMEOUT
                    )
                log.info("removed %d discovery configs", len(self.announcements))
        except aiomqtt.MqttError as exc:
            log.warning("could not say goodbye to the broker: %s", exc)

    # --- commands -----------------------------------------------------------
    async def _on_message(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        topic = str(message.topic)
        route = self._routes.get(topic)
        if route is None:
            return
        entity_id, role = route
        raw = message.payload
        payload = raw.decode("utf-8", "replace") if isinstance(raw, bytes | bytearray) else str(raw)
        self.received.append(Received(entity_id, topic, payload, time.monotonic()))
        spec = self._specs[entity_id]
        try:
            new = apply_command(spec, self.states[entity_id], role, payload)
        except BadCommand as exc:
            self.warnings += 1
            log.warning("%s: ignored command on %s: %s", spec.friendly_name.lower(), topic, exc)
            await self._notify()
            return
        await self._change(client, entity_id, new)
        if spec.kind == "scene":
            for target, wanted in spec.scene.items():
                await self._change(client, target, _merged(self.states[target], wanted))
        await self._notify()

    async def _change(self, client: aiomqtt.Client, entity_id: str, new: EntityState) -> None:
        self.states[entity_id] = new
        log.info("%s", describe(self._specs[entity_id], new))
        await self._publish_state(client, entity_id)

    async def _publish_state(self, client: aiomqtt.Client, entity_id: str) -> None:
        spec = self._specs[entity_id]
        for topic, payload in state_messages(self.home, spec, self.states[entity_id]):
            await client.publish(topic, payload, qos=1, retain=True)
        if spec.device and spec.kind in ("sensor", "binary_sensor"):
            for topic, payload in shared_sensor_messages(self.home, self.states):
                await client.publish(topic, payload, qos=1, retain=True)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- API for tests and demos ------------------------------------------
    async def set_online(self, online: bool) -> None:
        """Publish the fleet's availability (every entity follows it), as a bridge would."""
        client = self._need_client()
        payload = "online" if online else "offline"
        await client.publish(availability_topic(self.home), payload, qos=1, retain=True)

    async def remove(self, entity_id: str) -> None:
        """Remove one entity as HA documents: an empty retained config; stop serving it."""
        client = self._need_client()
        announcement = self.announcements.pop(entity_id)
        for topic in announcement.commands:
            self._routes.pop(topic, None)
            await client.unsubscribe(topic)
        await client.publish(announcement.topic, b"", qos=1, retain=True)

    def _need_client(self) -> aiomqtt.Client:
        if self._client is None:
            raise UserError("the simulated fleet is not connected to the broker")
        return self._client

    async def set_state(self, entity_id: str, state: str | None = None, **attributes: Any) -> None:
        """Change a device from its side (a door opens, the temperature rises) and publish."""
        new = _merged(self.states[entity_id], {"state": state, **attributes})
        if self._client is None:
            self.states[entity_id] = new
        else:
            await self._change(self._client, entity_id, new)
        await self._notify()

    async def wait_for_commands(self, count: int) -> list[Received]:
        """Wait until at least `count` commands have arrived; wrap in asyncio.timeout."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.received) >= count)
        return list(self.received)

    async def wait_for_state(
        self, entity_id: str, check: str | Callable[[EntityState], bool]
    ) -> EntityState:
        """Wait until the entity's state equals `check` (or `check(state)` is true)."""

        def ok() -> bool:
            current = self.states[entity_id]
            return current.state == check if isinstance(check, str) else check(current)

        async with self._changed:
            await self._changed.wait_for(ok)
        return self.states[entity_id]


def _merged(current: EntityState, wanted: dict[str, Any]) -> EntityState:
    attributes = dict(current.attributes)
    state = current.state
    for key, value in wanted.items():
        if key == "state":
            state = current.state if value is None else str(value)
        else:
            attributes[key] = value
    return EntityState(state=state, attributes=attributes, available=current.available)
