"""The MQTT connection: one long-lived aiomqtt session that survives the broker.

``MqttConnection`` is an async context manager that owns a TaskGroup of named
tasks.  One task keeps a connection up forever (jittered exponential backoff
from 1 s doubling to 30 s, one log line per attempt, but once a second while
a command waits); while connected three
tasks run beside it: receive (dispatch to handlers by topic filter), send (the
command outbox, ``mqtt_outbox``) and subscribe (small SUBSCRIBE batches,
restored after every reconnect, a filter the broker refuses dropped alone:
``mqtt_subscriptions``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
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
from assistant.transports.mqtt_outbox import CommandExpired, Outbox, Published
from assistant.transports.mqtt_subscriptions import (
    Incoming,
    InvalidTopic,
    MessageHandler,
    Rejected,
    Subscriptions,
)

__all__ = [
    "CommandExpired",
    "Incoming",
    "InvalidTopic",
    "MessageHandler",
    "MqttConnection",
    "Published",
    "Rejected",
    "Retained",
]

log = logging.getLogger(__name__)

DEMAND_GAP_SECONDS = 1.0  # a waiting command retries the broker at most this often


@dataclass(frozen=True)
class Retained:
    """A will or birth message."""

    topic: str
    payload: str
    retain: bool = True


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
        self._subs = Subscriptions()
        self._outbox = Outbox(config.command_ttl_seconds, config.queue_size)
        self._group: asyncio.TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._attempted = asyncio.Event()
        self._closing = False
        self._attempt_now = asyncio.Event()

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
        self._closing = True
        if self._runner is not None:
            self._runner.cancel()
        group, self._group = self._group, None
        try:
            if group is not None:
                # The body's own exception propagates by itself; handing it to
                # the TaskGroup would wrap it in an ExceptionGroup.
                await group.__aexit__(None, None, None)
        finally:
            self._outbox.close()

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
            await self._subs.idle.wait()
            if self.connected and self._subs.idle.is_set():
                return

    # --- subscriptions and publishing --------------------------------------
    def subscribe(
        self, topic_filter: str, handler: MessageHandler, on_rejected: Rejected | None = None
    ) -> Callable[[], None]:
        """Call `handler(message)` for every message matching the filter; returns unsubscribe.

        Subscriptions are sent in small batches by the connection and restored
        after every reconnect; registering before the connection is up is
        fine.  A filter MQTT forbids raises ``InvalidTopic`` here; one the
        broker refuses later is dropped and `on_rejected(filter, reason)` called.
        """
        return self._subs.add(topic_filter, handler, on_rejected)

    def dispatch(self, message: Incoming) -> None:
        """Hand one message to every matching handler; a failing handler is logged, not fatal."""
        self._subs.dispatch(message)

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

        ``InvalidTopic`` (a UserError) for a topic or payload MQTT forbids.
        Cancelling the caller does not withdraw the command: it was promised
        to the device and is still sent (or expires) on its own.
        """
        if not self.connected:
            self._attempt_now.set()
        return await self._outbox.publish(topic, payload, qos=qos, retain=retain, ttl=ttl)

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
            # Commands are small and waited for: Nagle's algorithm would hold
            # each one behind the last ACK (tens of milliseconds).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
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
            client = self._make_client()
            try:
                async with client:
                    was_up = True
                    attempt = 0
                    if self._birth is not None:
                        birth = self._birth
                        await client.publish(birth.topic, birth.payload, qos=1, retain=birth.retain)
                    self._on_up(client)
                    log.info("MQTT connected to %s as %s", where, self.client_id)
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self._receive(client), name="mqtt-receive")
                        group.create_task(self._outbox.run(client), name="mqtt-send")
                        group.create_task(self._subs.run(client), name="mqtt-subscribe")
            except* (aiomqtt.MqttError, OSError) as errors:
                reason = describe_error(errors.exceptions[0])
                if self._paho_problem.message and not was_up:
                    reason = self._paho_problem.message  # e.g. "certificate required"
            finally:
                self._on_down()
            if self._closing:
                # A lost connection reported while we were being stopped
                # must not turn the stop into one more reconnect.
                raise asyncio.CancelledError
            task = asyncio.current_task()
            while task is not None and task.cancelling():
                # Python 3.11's TaskGroup leaves the cancel it used to stop
                # its body counted when a child failed after the body ended.
                task.uncancel()
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
            await self._pause(delay)

    async def _pause(self, delay: float) -> None:
        """The backoff, cut short (at most once a second) when a command is waiting.

        With backoff alone, a broker back after 15 s is found up to 16 s
        later, and every command said meanwhile expires.
        """
        self._attempt_now.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await asyncio.sleep(min(delay, DEMAND_GAP_SECONDS))
                await self._attempt_now.wait()

    def _on_up(self, client: aiomqtt.Client) -> None:
        self._client = client
        self.connections += 1
        self.last_error = None
        self._subs.connection_up()
        self._connected.set()
        self._attempted.set()
        self._outbox.wakeup.set()

    def _on_down(self) -> None:
        self._client = None
        self._connected.clear()
        self._subs.connection_lost()

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            if isinstance(payload, str):
                payload = payload.encode()
            elif not isinstance(payload, bytes | bytearray):
                payload = b"" if payload is None else str(payload).encode()
            self._subs.dispatch(Incoming(str(message.topic), bytes(payload), bool(message.retain)))
