"""The command outbox: QoS 1 commands, one in flight, dropped when stale.

Commands go out at QoS 1 from a bounded outbox, one at a time: the next
command is written only after the broker acknowledged (PUBACK) the previous
one, and a command leaves the outbox only on its PUBACK.  When the
connection dies, the command that was in flight stays at the head and is
re-sent on the next connection (by a fresh client, so paho never re-sends it
on its own as well).  With one command in flight at a time the broker has
nothing of ours left unread when it goes away, so a command it processed has
its PUBACK already written back to us, and a command whose PUBACK never came
was never processed: re-sending it cannot duplicate it.  (A broker killed
between processing a PUBLISH and writing the PUBACK could still cause one
duplicate; that is QoS 1's at-least-once contract, and device commands are
idempotent state assertions, e.g. "ON", "50".)

A command issued while the broker is away waits in the outbox; if it is still
unsent ``command_ttl_seconds`` after it was issued ("turn on the light" must
not fire long after it was said) it is dropped, logged, and the caller's
``publish()`` raises ``CommandExpired``.  A topic or payload that the broker
would refuse (or drop the connection over) is refused before it is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from dataclasses import dataclass

import aiomqtt

from assistant.errors import UserError
from assistant.transports.mqtt_subscriptions import InvalidTopic
from assistant.transports.mqtt_topics import payload_problem, topic_problem

log = logging.getLogger("assistant.transports.mqtt")


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


class Outbox:
    """Queued commands and the task that sends them, one at a time."""

    def __init__(self, ttl: float, size: int) -> None:
        self._ttl = ttl
        self._size = size
        self._items: deque[_Outgoing] = deque()
        self.wakeup = asyncio.Event()

    async def publish(
        self, topic: str, payload: str, *, qos: int, retain: bool, ttl: float | None
    ) -> Published:
        """Queue one message, wait for its PUBACK; CommandExpired / InvalidTopic if not sent."""
        problem = topic_problem(topic) or payload_problem(payload)
        if problem is not None:
            log.warning("MQTT command to %r refused: %s", topic[:200], problem)
            raise InvalidTopic(f"command to {topic[:200]!r} not sent: {problem}")
        loop = asyncio.get_running_loop()
        while len(self._items) >= self._size:
            oldest = next((i for i in self._items if not i.in_flight), None)
            if oldest is None:
                break
            self._items.remove(oldest)
            self._expire(oldest, "the command queue is full")
        item = _Outgoing(
            topic=topic,
            payload=payload,
            qos=qos,
            retain=retain,
            created=time.monotonic(),
            ttl=self._ttl if ttl is None else ttl,
            future=loop.create_future(),
        )
        # Mark the outcome as retrieved even if the caller went away.
        item.future.add_done_callback(lambda f: f.cancelled() or f.exception())
        item.timer = loop.call_later(item.ttl, self._on_ttl, item)
        self._items.append(item)
        self.wakeup.set()
        return await asyncio.shield(item.future)

    def _on_ttl(self, item: _Outgoing) -> None:
        if item.future.done() or item.in_flight:
            return
        with contextlib.suppress(ValueError):
            self._items.remove(item)
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

    def close(self) -> None:
        """Fail every queued command: the assistant is shutting down."""
        while self._items:
            item = self._items.popleft()
            self._expire(item, "the assistant is shutting down", quiet=True)

    async def _next(self) -> _Outgoing:
        while True:
            while self._items:
                item = self._items[0]
                if item.future.done():
                    self._items.popleft()
                    continue
                if time.monotonic() - item.created > item.ttl:
                    self._items.popleft()
                    self._expire(item, "the MQTT broker was unreachable")
                    continue
                return item
            self.wakeup.clear()
            await self.wakeup.wait()

    async def run(self, client: aiomqtt.Client) -> None:
        """Send queued commands over one connection until it fails."""
        while True:
            item = await self._next()
            item.in_flight = True
            try:
                await client.publish(
                    item.topic, item.payload, qos=item.qos, retain=item.retain, timeout=math.inf
                )
            except BaseException:
                # Not acknowledged: it stays at the head and goes out again on
                # the next connection, unless it is already stale.
                item.in_flight = False
                left = item.created + item.ttl - time.monotonic()
                if left <= 0:
                    with contextlib.suppress(ValueError):
                        self._items.remove(item)
                    self._expire(item, "not acknowledged before the broker went away")
                else:
                    # Its timer passed over it while it was in flight: re-arm
                    # it, so its caller hears back even if the broker stays away.
                    if item.timer is not None:
                        item.timer.cancel()
                    item.timer = asyncio.get_running_loop().call_later(left, self._on_ttl, item)
                raise
            item.in_flight = False
            with contextlib.suppress(ValueError):
                self._items.remove(item)
            if item.timer is not None:
                item.timer.cancel()
            if not item.future.done():
                waited = time.monotonic() - item.created
                item.future.set_result(Published(item.topic, item.payload, waited))
