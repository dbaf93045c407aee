"""The connection's subscriptions: handlers by filter, SUBSCRIBE in small batches.

One device's bad topic must not take the shared connection down, so:

- every filter is checked (``topic_problem``) before it is accepted;
  ``subscribe`` raises ``InvalidTopic`` (one line) for a bad one;
- SUBSCRIBE goes out in small batches; a filter the broker refuses in its
  SUBACK (failure code 0x80, e.g. an ACL) is dropped, its owners are told
  through their ``on_rejected`` callback, and the rest stay;
- a broker that drops the connection instead (mosquitto does for some
  malformed topics) makes every filter of the batch in flight a suspect;
  suspects are then subscribed one at a time, and one that drops the
  connection alone twice is rejected like a SUBACK failure.  The connection
  comes back without it instead of reconnecting forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt

from assistant.errors import UserError
from assistant.transports.mqtt_topics import has_wildcard, is_shared, topic_matches, topic_problem

log = logging.getLogger("assistant.transports.mqtt")

SUBSCRIBE_BATCH = 20
STRIKES = 2


@dataclass(frozen=True)
class Incoming:
    """One message received from the broker."""

    topic: str
    payload: bytes
    retain: bool = False


MessageHandler = Callable[[Incoming], None]
Rejected = Callable[[str, str], None]  # (topic filter, reason)


class InvalidTopic(UserError):
    """A topic or filter that must not reach the broker; the message is one line."""


@dataclass(frozen=True, eq=False)
class _Entry:
    handler: MessageHandler
    on_rejected: Rejected | None


def _failed(code: Any) -> bool:
    value = getattr(code, "value", code)
    return isinstance(value, int) and value >= 0x80


class Subscriptions:
    """Handlers by topic filter, and the task that keeps the broker's side in step."""

    def __init__(self) -> None:
        self._exact: dict[str, list[_Entry]] = {}
        self._wild: dict[str, list[_Entry]] = {}
        self._pending: set[str] = set()
        self._unpending: set[str] = set()
        self._strikes: dict[str, int] = {}
        self._in_flight: list[str] = []
        self.idle = asyncio.Event()
        self._wakeup = asyncio.Event()

    def add(
        self, topic_filter: str, handler: MessageHandler, on_rejected: Rejected | None
    ) -> Callable[[], None]:
        """Register a handler; returns the function that removes it.  InvalidTopic if bad."""
        problem = topic_problem(topic_filter, is_filter=True)
        if problem is not None:
            raise InvalidTopic(f"cannot subscribe to {topic_filter!r}: {problem}")
        # A shared filter never equals a message's topic: it is matched like a wildcard.
        wild = has_wildcard(topic_filter) or is_shared(topic_filter)
        table = self._wild if wild else self._exact
        entries = table.setdefault(topic_filter, [])
        if not entries:
            self._unpending.discard(topic_filter)
            self._pending.add(topic_filter)
            self._wake()
        entry = _Entry(handler, on_rejected)
        entries.append(entry)

        def remove() -> None:
            current = table.get(topic_filter)
            if current is None or entry not in current:
                return
            current.remove(entry)
            if not current:
                del table[topic_filter]
                self._pending.discard(topic_filter)
                self._unpending.add(topic_filter)
                self._wake()

        return remove

    def _wake(self) -> None:
        self.idle.clear()
        self._wakeup.set()

    def dispatch(self, message: Incoming) -> None:
        """Hand one message to every matching handler; a failing handler is logged, not fatal."""
        entries: list[_Entry] = list(self._exact.get(message.topic, ()))
        for topic_filter, more in self._wild.items():
            if topic_matches(topic_filter, message.topic):
                entries.extend(more)
        for entry in entries:
            try:
                entry.handler(message)
            except Exception as exc:  # noqa: BLE001 - one bad message must not drop the session
                log.warning("MQTT handler for %r failed: %s", message.topic, exc)

    # --- the broker's side --------------------------------------------------
    def connection_up(self) -> None:
        """A fresh session knows none of our subscriptions: send them all again."""
        self._pending = set(self._exact) | set(self._wild)
        self._unpending.clear()
        self._in_flight = []
        self._wake()

    def connection_lost(self) -> None:
        """The connection dropped; a SUBSCRIBE in flight may be why."""
        self.idle.clear()
        batch, self._in_flight = self._in_flight, []
        if not batch:
            return
        for topic_filter in batch:
            if len(batch) == 1:
                self._strikes[topic_filter] = self._strikes.get(topic_filter, 0) + 1
                if self._strikes[topic_filter] >= STRIKES:
                    self._reject(topic_filter, "the broker drops the connection on it")
                    continue
            else:
                self._strikes.setdefault(topic_filter, 0)

    def _reject(self, topic_filter: str, reason: str) -> None:
        self._strikes.pop(topic_filter, None)
        self._pending.discard(topic_filter)
        entries = self._exact.pop(topic_filter, None) or self._wild.pop(topic_filter, None) or []
        log.warning("MQTT subscription to %r refused: %s", topic_filter, reason)
        for entry in entries:
            if entry.on_rejected is not None:
                try:
                    entry.on_rejected(topic_filter, reason)
                except Exception as exc:  # noqa: BLE001 - the connection must carry on
                    log.warning("MQTT rejection handler for %r failed: %s", topic_filter, exc)

    def _next_batch(self) -> list[str]:
        suspects = sorted(t for t in self._pending if t in self._strikes)
        if suspects:
            return suspects[:1]
        return sorted(self._pending)[:SUBSCRIBE_BATCH]

    async def run(self, client: aiomqtt.Client) -> None:
        """Keep the broker's subscriptions equal to ours, for one connection."""
        while True:
            if self._unpending:
                topics = sorted(self._unpending)[:SUBSCRIBE_BATCH]
                self._unpending.difference_update(topics)
                await client.unsubscribe(topics)
                continue
            if self._pending:
                topics = self._next_batch()
                self._pending.difference_update(topics)
                self._in_flight = topics
                codes = await client.subscribe([(topic, 1) for topic in topics])
                self._in_flight = []
                for topic, code in zip(topics, codes, strict=False):
                    self._strikes.pop(topic, None)
                    if _failed(code):
                        self._reject(topic, f"the broker answered {code}")
                continue
            self._wakeup.clear()
            self.idle.set()
            await self._wakeup.wait()
