"""The MQTT connection: one long-lived aiomqtt session that survives the broker.

``MqttConnection`` is an async context manager that owns a TaskGroup of named
tasks.  One task keeps a connection up forever (jittered exponential backoff
from 1 s doubling to 30 s, one log line per attempt); while connected three
tasks run beside it: receive (dispatch to handlers by topic filter), send (the
command outbox) and subscribe (batched SUBSCRIBE/UNSUBSCRIBE, restored after
every reconnect).

Delivery of commands.  Commands go out at QoS 1 from a bounded outbox, one at
a time: the next command is written only after the broker acknowledged
(PUBACK) the previous one, and a command leaves the outbox only on its PUBACK.
When the connection dies, the command that was in flight stays at the head
and is re-sent on the next connection (by a fresh client, so paho never
re-sends it on its own as well).  With one command in flight at a time the
broker has nothing of ours left unread when it goes away, so a command it
processed has its PUBACK already written back to us, and a command whose
PUBACK never came was never processed: re-sending it cannot duplicate it.
(A broker killed between processing a PUBLISH and writing the PUBACK could
still cause one duplicate; that is QoS 1's at-least-once contract, and device
commands are idempotent state assertions, e.g. "ON", "50".)

A command issued while the broker is away waits in the outbox; if it is still
unsent ``command_ttl_seconds`` after it was issued (default 10 s: "turn on the
light" must not fire a minute later) it is dropped, logged, and the caller's
``publish()`` raises ``CommandExpired``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiomqtt

from assistant.config import MqttConfig
from assistant.errors import UserError
from assistant.transports.mqtt_client import Client
from assistant.transports.mqtt_options import (
    LastProblem,
    backoff_delay,
    describe_error,
    tls_parameters,
)
from assistant.transports.mqtt_topics import has_wildcard, topic_matches

log = logging.getLogger(__name__)

SUBSCRIBE_CHUNK = 200


@dataclass(frozen=True)
class Incoming:
    """One message received from the broker."""

    topic: str
    payload: bytes
    retain: bool = False


Handler = Callable[[Incoming], None]


@dataclass(frozen=True)
class Retained:
    """A will or birth message."""

    topic: str
    payload: str
    retain: bool = True


@dataclass(frozen=True)
class Published:
    """A command the broker acknowledged (PUBACK)."""

    topic: str
    payload: str
    waited_seconds: float


class CommandExpired(UserError):
    """A command was dropped unsent: the broker stayed away too long."""

    def __init__(self, topic: str, waited: float, reason: str) -> None:
        super().__init__(f"command to {topic} not sent: {reason} ({waited:.1f} s)")
        self.topic = topic
        self.waited = waited
        self.reason = reason


@dataclass(eq=False)
class _Outgoing:
    topic: str
    payload: str
    qos: int
    retain: bool
    created: float
    ttl: float
    future: asyncio.Future[Published]
    in_flight: bool = False
    timer: asyncio.TimerHandle | None = None


class MqttConnection:
    """A broker connection that reconnects forever; see the module docstring."""

    def __init__(
        self,
        config: MqttConfig,
        *,
        name: str = "assistant",
        reconnect: bool = True,
        will: Retained | None = None,
        birth: Retained | None = None,
    ) -> None:
        """`reconnect=False` (one-shot commands): give up after a failed first attempt.

        `will` is registered with the broker (published by it if this process
        vanishes); `birth` is published (QoS 1) first on every connection,
        before any queued command.
        """
        self.config = config
        self._reconnect = reconnect
        self._will = will
        self._birth = birth
        self.client_id = config.client_id or f"{name}-{uuid.uuid4().hex[:10]}"
        self.last_error: str | None = None
        self.connections = 0  # successful connections so far
        self._client: aiomqtt.Client | None = None
        # paho reports socket and TLS failures only through its logger: keep
        # the last one for the error message instead of printing it.
        self._paho_problem = LastProblem()
        self._paho_log = logging.Logger(f"{__name__}.paho", logging.WARNING)  # noqa: LOG001
        self._paho_log.addHandler(self._paho_problem)
        self._paho_log.propagate = False
        self._exact: dict[str, list[Handler]] = {}
        self._wild: dict[str, list[Handler]] = {}
        self._sub_pending: set[str] = set()
        self._unsub_pending: set[str] = set()
        self._outbox: deque[_Outgoing] = deque()
        self._group: asyncio.TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._attempted = asyncio.Event()
        self._subs_idle = asyncio.Event()
        self._sub_wakeup = asyncio.Event()
        self._out_wakeup = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------
    async def __aenter__(self) -> Self:
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._runner = self._group.create_task(self._run(), name="mqtt-connection")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            self._runner.cancel()
        group, self._group = self._group, None
        try:
            if group is not None:
                # The body's own exception propagates by itself; handing it to
                # the TaskGroup would wrap it in an ExceptionGroup.
                await group.__aexit__(None, None, None)
        finally:
            while self._outbox:
                item = self._outbox.popleft()
                self._expire(item, "the assistant is shutting down", quiet=True)

    @property
    def connected(self) -> bool:
        """True while a session with the broker is up."""
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        """Return once connected (wrap in a timeout)."""
        await self._connected.wait()

    async def connect_or_raise(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait for the first connection attempt; UserError naming the problem if it failed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._attempted.wait()
        if not self.connected:
            reason = self.last_error or self._paho_problem.message or f"no answer in {timeout:g} s"
            where = f"{self.config.host}:{self.config.port}"
            raise UserError(f"cannot connect to the MQTT broker at {where}: {reason}")

    async def wait_subscribed(self) -> None:
        """Return once connected and every subscription is acknowledged (wrap in a timeout)."""
        while True:
            await self._connected.wait()
            await self._subs_idle.wait()
            if self.connected and self._subs_idle.is_set():
                return

    # --- subscriptions -----------------------------------------------------
    def subscribe(self, topic_filter: str, handler: Handler) -> Callable[[], None]:
        """Call `handler(message)` for every message matching the filter; returns unsubscribe.

        Subscriptions are sent in batches by the connection and restored after
        every reconnect; registering before the connection is up is fine.
        """
        table = self._wild if has_wildcard(topic_filter) else self._exact
        handlers = table.setdefault(topic_filter, [])
        if not handlers:
            self._unsub_pending.discard(topic_filter)
            self._sub_pending.add(topic_filter)
            self._wake_subscriber()
        handlers.append(handler)

        def unsubscribe() -> None:
            current = table.get(topic_filter)
            if current is None or handler not in current:
                return
            current.remove(handler)
            if not current:
                del table[topic_filter]
                self._sub_pending.discard(topic_filter)
                self._unsub_pending.add(topic_filter)
                self._wake_subscriber()

        return unsubscribe

    def _wake_subscriber(self) -> None:
        self._subs_idle.clear()
        self._sub_wakeup.set()

    # --- publishing --------------------------------------------------------
    async def publish(
        self,
        topic: str,
        payload: str,
        *,
        qos: int = 1,
        retain: bool = False,
        ttl: float | None = None,
    ) -> Published:
        """Queue one message, wait for the broker's PUBACK; CommandExpired if it went stale.

        Cancelling the caller does not withdraw the command: it was promised
        to the device and is still sent (or expires) on its own.
        """
        loop = asyncio.get_running_loop()
        while len(self._outbox) >= self.config.queue_size:
            oldest = next((i for i in self._outbox if not i.in_flight), None)
            if oldest is None:
                break
            self._outbox.remove(oldest)
            self._expire(oldest, "the command queue is full")
        item = _Outgoing(
            topic=topic,
            payload=payload,
            qos=qos,
            retain=retain,
            created=time.monotonic(),
            ttl=self.config.command_ttl_seconds if ttl is None else ttl,
            future=loop.create_future(),
        )
        # Mark the outcome as retrieved even if the caller went away.
        item.future.add_done_callback(lambda f: f.cancelled() or f.exception())
        item.timer = loop.call_later(item.ttl, self._on_ttl, item)
        self._outbox.append(item)
        self._out_wakeup.set()
        return await asyncio.shield(item.future)

    def _on_ttl(self, item: _Outgoing) -> None:
        if item.future.done() or item.in_flight:
            return
        with contextlib.suppress(ValueError):
            self._outbox.remove(item)
        self._expire(item, "the MQTT broker is unreachable")

    def _expire(self, item: _Outgoing, reason: str, *, quiet: bool = False) -> None:
        if item.timer is not None:
            item.timer.cancel()
        if item.future.done():
            return
        waited = time.monotonic() - item.created
        if not quiet:
            log.warning("MQTT command to %s dropped after %.1f s: %s", item.topic, waited, reason)
        item.future.set_exception(CommandExpired(item.topic, waited, reason))

    # --- the connection ----------------------------------------------------
    def _make_client(self) -> aiomqtt.Client:
        config = self.config
        return Client(
            config.host,
            config.port,
            username=config.username,
            password=config.password,
            identifier=self.client_id,
            keepalive=config.keepalive,
            tls_params=tls_parameters(config),
            tls_insecure=config.tls_insecure if config.tls else None,
            timeout=10,
            logger=self._paho_log,
            will=aiomqtt.Will(self._will.topic, self._will.payload, qos=1, retain=self._will.retain)
            if self._will
            else None,
        )

    async def _run(self) -> None:
        where = f"{self.config.host}:{self.config.port}"
        attempt = 0
        while True:
            reason = "closed"
            was_up = False
            self._paho_problem.message = None
            try:
                async with self._make_client() as client:
                    was_up = True
                    attempt = 0
                    if self._birth is not None:
                        birth = self._birth
                        await client.publish(birth.topic, birth.payload, qos=1, retain=birth.retain)
                    self._on_up(client)
                    log.info("MQTT connected to %s as %s", where, self.client_id)
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self._receive(client), name="mqtt-receive")
                        group.create_task(self._send(client), name="mqtt-send")
                        group.create_task(self._subscriber(client), name="mqtt-subscribe")
            except* (aiomqtt.MqttError, OSError) as errors:
                reason = describe_error(errors.exceptions[0])
                if self._paho_problem.message and not was_up:
                    reason = self._paho_problem.message  # e.g. "certificate required"
            finally:
                self._on_down()
            self.last_error = reason
            self._attempted.set()
            if not self._reconnect:
                if was_up:
                    log.warning("MQTT connection to %s lost (%s)", where, reason)
                return
            delay = backoff_delay(attempt)
            attempt += 1
            if was_up:
                log.warning(
                    "MQTT connection to %s lost (%s); reconnecting in %.1f s", where, reason, delay
                )
            else:
                log.warning("MQTT broker %s: %s; retry %d in %.1f s", where, reason, attempt, delay)
            await asyncio.sleep(delay)

    def _on_up(self, client: aiomqtt.Client) -> None:
        self._client = client
        self.connections += 1
        self.last_error = None
        # A fresh (clean) session knows none of our subscriptions.
        self._sub_pending = set(self._exact) | set(self._wild)
        self._unsub_pending.clear()
        self._wake_subscriber()
        self._connected.set()
        self._attempted.set()
        self._out_wakeup.set()

    def _on_down(self) -> None:
        self._client = None
        self._connected.clear()
        self._subs_idle.clear()

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            if isinstance(payload, str):
                payload = payload.encode()
            elif not isinstance(payload, bytes | bytearray):
                payload = b"" if payload is None else str(payload).encode()
            self.dispatch(Incoming(str(message.topic), bytes(payload), bool(message.retain)))

    def dispatch(self, message: Incoming) -> None:
        """Hand one message to every matching handler; a failing handler is logged, not fatal."""
        handlers: list[Handler] = list(self._exact.get(message.topic, ()))
        for topic_filter, more in self._wild.items():
            if topic_matches(topic_filter, message.topic):
                handlers.extend(more)
        for handler in handlers:
            try:
                handler(message)
            except Exception as exc:  # noqa: BLE001 - one bad message must not drop the session
                log.warning("MQTT handler for %s failed: %s", message.topic, exc)

    async def _subscriber(self, client: aiomqtt.Client) -> None:
        while True:
            if self._unsub_pending:
                topics = sorted(self._unsub_pending)[:SUBSCRIBE_CHUNK]
                self._unsub_pending.difference_update(topics)
                await client.unsubscribe(topics)
                continue
            if self._sub_pending:
                topics = sorted(self._sub_pending)[:SUBSCRIBE_CHUNK]
                self._sub_pending.difference_update(topics)
                await client.subscribe([(topic, 1) for topic in topics])
                continue
            self._sub_wakeup.clear()
            self._subs_idle.set()
            await self._sub_wakeup.wait()

    async def _next_outgoing(self) -> _Outgoing:
        while True:
            while self._outbox:
                item = self._outbox[0]
                if item.future.done():
                    self._outbox.popleft()
                    continue
                if time.monotonic() - item.created > item.ttl:
                    self._outbox.popleft()
                    self._expire(item, "the MQTT broker was unreachable")
                    continue
                return item
            self._out_wakeup.clear()
            await self._out_wakeup.wait()

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            item = await self._next_outgoing()
            item.in_flight = True
            try:
                await client.publish(
                    item.topic, item.payload, qos=item.qos, retain=item.retain, timeout=math.inf
                )
            except BaseException:
                # Not acknowledged: it stays at the head and goes out again on
                # the next connection, unless it is already stale.
                item.in_flight = False
                if time.monotonic() - item.created > item.ttl:
                    with contextlib.suppress(ValueError):
                        self._outbox.remove(item)
                    self._expire(item, "not acknowledged before the broker went away")
                raise
            item.in_flight = False
            with contextlib.suppress(ValueError):
                self._outbox.remove(item)
            if item.timer is not None:
                item.timer.cancel()
            if not item.future.done():
                waited = time.monotonic() - item.created
                item.future.set_result(Published(item.topic, item.payload, waited))
