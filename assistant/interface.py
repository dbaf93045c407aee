"""The assistant's own MQTT interface: what it is doing, and text in and out.

Topics under ``assistant/<site>/``:

- ``state`` (retained): ``idle``, ``listening``, ``thinking`` or ``speaking``
- ``transcript``, ``intent``, ``reply``: JSON, one message per turn
- ``available`` (retained): ``online``, and ``offline`` as the last will
- ``ask`` (subscribed): a text handled as if it had been spoken
- ``say`` (subscribed): a text to speak (announcements from automations)

The interface does not own a connection: it is given a ``publish`` coroutine
(the shared MQTT transport's, or an aiomqtt client's) and is handed the
messages on its topics, so one connection serves devices and the interface.
Payload building and parsing are pure functions.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.understanding.origin import Origin

log = logging.getLogger(__name__)

MQTT_ANYONE = Origin("mqtt", sensitive=False)
"""`assistant/<site>/ask`: anyone on the broker can publish there."""

State = Literal["idle", "listening", "thinking", "speaking"]
STATES: tuple[str, ...] = ("idle", "listening", "thinking", "speaking")
ONLINE = "online"
OFFLINE = "offline"
MAX_TEXT = 1000  # characters: longer ask/say texts are cut, not refused


PublishFn = Callable[[str, str, bool], Awaitable[None]]
"""publish(topic, payload, retain) -> None, sent with QoS 1."""


@dataclass(frozen=True)
class Topics:
    """Every topic of one site."""

    site: str

    @property
    def base(self) -> str:
        """assistant/<site>"""
        return f"assistant/{self.site}"

    @property
    def state(self) -> str:
        """Retained current state."""
        return f"{self.base}/state"

    @property
    def available(self) -> str:
        """Retained online/offline, with the last will."""
        return f"{self.base}/available"

    @property
    def transcript(self) -> str:
        """What was heard."""
        return f"{self.base}/transcript"

    @property
    def intent(self) -> str:
        """What was understood."""
        return f"{self.base}/intent"

    @property
    def reply(self) -> str:
        """What was answered."""
        return f"{self.base}/reply"

    @property
    def ask(self) -> str:
        """Text in, handled as if spoken."""
        return f"{self.base}/ask"

    @property
    def say(self) -> str:
        """Text to speak."""
        return f"{self.base}/say"

    def subscriptions(self) -> tuple[str, ...]:
        """What the assistant listens to."""
        return (self.ask, self.say)


def site_topic_safe(site: str) -> str:
    """A site id usable as one topic level (no '/', '+', '#'; never empty)."""
    cleaned = "".join("_" if ch in "/+#" or ch.isspace() else ch for ch in site.strip())
    return cleaned or "assistant"


@dataclass(frozen=True)
class Ask:
    """A text to handle as if it had been spoken."""

    text: str
    id: str | None = None
    origin: Origin = MQTT_ANYONE


@dataclass(frozen=True)
class Say:
    """A text to speak."""

    text: str


Request = Ask | Say


def parse_request(topics: Topics, topic: str, payload: bytes | str) -> Request | None:
    """An ask/say message -> a request; None (logged) for anything unusable.

    The payload is plain UTF-8 text or a JSON object with ``text`` (and for
    ask an optional ``id`` echoed in the reply).
    """
    if topic not in topics.subscriptions():
        return None
    raw = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    raw = raw.strip()
    text: Any = raw
    request_id: Any = None
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            text = data.get("text")
            request_id = data.get("id")
    if not isinstance(text, str) or not text.strip():
        log.warning("ignoring %s: no text in payload %r", topic, raw[:80])
        return None
    text = text.strip()[:MAX_TEXT]
    if topic == topics.say:
        return Say(text)
    return Ask(text, str(request_id) if request_id is not None else None)


@dataclass(frozen=True)
class TurnReport:
    """One finished turn, as the interface publishes it."""

    transcript: str
    intent: str | None = None
    slots: Mapping[str, Any] = field(default_factory=dict)
    actions: Sequence[Mapping[str, Any]] = ()
    reply: str = ""
    handled_by: str | None = None
    source: Literal["voice", "ask"] = "voice"
    request_id: str | None = None


def turn_payloads(
    topics: Topics, turn: TurnReport, now: float | None = None
) -> list[tuple[str, str]]:
    """The (topic, JSON payload) messages announcing one turn, in order."""
    stamp = time.time() if now is None else now
    common: dict[str, Any] = {"site": topics.site, "source": turn.source, "time": round(stamp, 3)}
    if turn.request_id is not None:
        common["id"] = turn.request_id
    return [
        (topics.transcript, json.dumps({**common, "text": turn.transcript})),
        (
            topics.intent,
            json.dumps(
                {
                    **common,
                    "intent": turn.intent,
                    "slots": dict(turn.slots),
                    "actions": [dict(a) for a in turn.actions],
                    "handled_by": turn.handled_by,
                },
                default=str,
            ),
        ),
        (topics.reply, json.dumps({**common, "text": turn.reply})),
    ]


class Interface:
    """Publishes state and turns; turns ask/say messages into requests."""

    def __init__(self, site: str, publish: PublishFn) -> None:
        self.topics = Topics(site_topic_safe(site))
        self._publish = publish
        self._state: str | None = None

    @property
    def state(self) -> str | None:
        """The last state published."""
        return self._state

    def will(self) -> tuple[str, str]:
        """(topic, payload) of the last will: retained ``offline``."""
        return self.topics.available, OFFLINE

    async def online(self) -> None:
        """Announce availability and the idle state (both retained)."""
        await self._publish(self.topics.available, ONLINE, True)
        self._state = None
        await self.set_state("idle")

    async def offline(self) -> None:
        """Announce a clean stop (the will covers an unclean one)."""
        await self._publish(self.topics.available, OFFLINE, True)

    async def set_state(self, state: State) -> None:
        """Publish a state change (repeats are not sent)."""
        if state == self._state:
            return
        self._state = state
        await self._publish(self.topics.state, state, True)

    async def publish_turn(self, turn: TurnReport) -> None:
        """transcript, intent and reply of one turn."""
        for topic, payload in turn_payloads(self.topics, turn):
            await self._publish(topic, payload, False)

    def parse(self, topic: str, payload: bytes | str) -> Request | None:
        """A message on one of our topics -> a request (None when not ours or unusable)."""
        return parse_request(self.topics, topic, payload)
