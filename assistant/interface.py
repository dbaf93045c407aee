"""The assistant's own MQTT interface: what it is doing, and text in and out.

Topics under ``assistant/<site>/``:

- ``state`` (retained): ``idle``, ``listening``, ``thinking`` or ``speaking``
- ``transcript``, ``intent``, ``reply``: JSON, one message per turn
- ``available`` (retained): ``online``, and ``offline`` as the last will
- ``ask`` (subscribed): a text handled as if it had been spoken; anyone on
  the broker can publish there, so it can never unlock or open anything
- ``ask/<user>`` (subscribed for each ``[site] mqtt_trusted_users`` entry):
  the same, from a user the broker's ACL lets alone publish there, so it may
  ask for sensitive actions (README: "Who may unlock the door")
- ``say`` or ``say/<user>`` (subscribed, per ``[site] mqtt_say``): a text to
  speak (announcements from automations)
- ``assistant/house/ask`` (``[house] enabled``; shared subscription, one gateway
  per request): like ``ask``, answered under ``assistant/house/`` with its ``site``
- ``mute``, ``wake_word``, ``listen``, ``event``: the assistant's own switch,
  select, button and events (``assistant.integrations.controls``), which
  Home Assistant finds through one discovery config (``ha_device``)

Every ask carries the ``Origin`` of its topic: understanding keeps one
conversation per origin, so a "yes" only answers a question asked on the
same topic, and refuses sensitive actions to a non-sensitive origin.  When
the request queue is full, a dropped ask is answered "busy" on ``reply``
with its id instead of silence.

The interface does not own a connection: it is given a ``publish`` coroutine
(the shared MQTT transport's, or an aiomqtt client's) and is handed the
messages on its topics, so one connection serves devices and the interface.
Payload building and parsing are pure functions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from assistant.integrations.controls import Activity, Control, ControlTopics, parse_control
from assistant.textsafe import cap, clean, unicode_safe
from assistant.transports.mqtt_topics import shared_filter
from assistant.understanding.origin import Origin

if TYPE_CHECKING:
    from assistant.config_site import SiteConfig

log = logging.getLogger(__name__)

MQTT_ANYONE = Origin("mqtt", sensitive=False)
"""`assistant/<site>/ask`: anyone on the broker can publish there."""
HOUSE_ASK = Origin("mqtt:house", sensitive=False)
"""`assistant/house/ask`: anyone on the broker too, whichever gateway answers."""

State = Literal["idle", "listening", "thinking", "speaking"]
STATES: tuple[str, ...] = ("idle", "listening", "thinking", "speaking")
ONLINE = "online"
OFFLINE = "offline"
MAX_TEXT = 1000  # characters: longer ask/say texts and replies are cut, not refused
MAX_PAYLOAD = 16_384  # bytes: a bigger ask/say message is refused unread
MAX_BUSY_REPLIES = 256  # "busy" replies in flight at once; beyond that, logged only
BUSY_REPLY = "Sorry, I'm busy. Please ask again in a moment."
SayFrom = Literal["anyone", "trusted"]


PublishFn = Callable[[str, str, bool], Awaitable[None]]
"""publish(topic, payload, retain) -> None, sent with QoS 1."""


@dataclass(frozen=True)
class Topics:
    """Every topic of one site."""

    site: str
    trusted: tuple[str, ...] = ()
    """MQTT users with a topic of their own (ask/<user>, say/<user>)."""
    say_from: SayFrom = "anyone"
    """`anyone`: the shared say topic; `trusted`: only say/<user>."""
    house_group: str | None = None
    """`[house] group` when several gateways share the house-wide ask."""

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
        asks = (self.ask, *(f"{self.ask}/{user}" for user in self.trusted))
        if self.house_group is not None:
            asks = (*asks, shared_filter(self.house_group, HOUSE.ask))
        if self.say_from == "anyone":
            return (*asks, self.say)
        return (*asks, *(f"{self.say}/{user}" for user in self.trusted))

    def route(self, topic: str) -> tuple[Literal["ask", "say"], Origin] | None:
        """What a message on `topic` is, and from whom; None when not ours."""
        if topic == self.ask:
            return "ask", Origin(f"mqtt:{self.site}", sensitive=False)
        if topic == HOUSE.ask and self.house_group is not None:
            return "ask", HOUSE_ASK
        if topic == self.say and self.say_from == "anyone":
            return "say", Origin(f"mqtt:{self.site}", sensitive=False)
        kind, _, user = topic.removeprefix(f"{self.base}/").partition("/")
        if user not in self.trusted or kind not in ("ask", "say"):
            return None
        if kind == "say" and self.say_from != "trusted":
            return None
        # Only `user` can publish here: the broker's ACL (pattern write .../ask/%u).
        return ("ask" if kind == "ask" else "say"), Origin(f"mqtt-user:{user}", sensitive=True)


HOUSE = Topics("house")
"""The house-wide topics, assistant/house/...: `ask` and the answers to it."""


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
    """Who asked: understanding keys the conversation and the authority on it."""


@dataclass(frozen=True)
class Say:
    """A text to speak."""

    text: str
    origin: Origin = MQTT_ANYONE


Request = Ask | Say


def parse_request(topics: Topics, topic: str, payload: bytes | str) -> Request | None:
    """An ask/say message -> a request; None (logged) for anything unusable.

    The payload is plain UTF-8 text or a JSON object with ``text`` (and for
    ask an optional ``id`` echoed in the reply).  The request's origin comes
    from the topic (`Topics.route`), never from the payload.
    """
    route = topics.route(topic)
    if route is None:
        return None
    kind, origin = route
    if len(payload) > MAX_PAYLOAD:
        log.warning("ignoring %s: %d-byte payload (at most %d)", topic, len(payload), MAX_PAYLOAD)
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
    text = unicode_safe(text.strip(), MAX_TEXT)
    if kind == "say":
        return Say(text, origin)
    ident = unicode_safe(str(request_id), 200) if request_id is not None else None
    return Ask(text, ident, origin)


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
    house: bool = False
    """An answer to assistant/house/ask: published under assistant/house/."""


def turn_payloads(
    topics: Topics, turn: TurnReport, now: float | None = None
) -> list[tuple[str, str]]:
    """The (topic, JSON payload) messages announcing one turn, in order."""
    stamp = time.time() if now is None else now
    common: dict[str, Any] = {"site": topics.site, "source": turn.source, "time": round(stamp, 3)}
    if turn.request_id is not None:
        common["id"] = turn.request_id
    out = HOUSE if turn.house else topics
    return [
        (out.transcript, json.dumps({**common, "text": cap(turn.transcript, MAX_TEXT)})),
        (
            out.intent,
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
        (out.reply, json.dumps({**common, "text": cap(turn.reply, MAX_TEXT)})),
    ]


def busy_payload(topics: Topics, ask: Ask, now: float | None = None) -> tuple[str, str]:
    """The reply to an ask dropped because too many requests are waiting."""
    stamp = time.time() if now is None else now
    message: dict[str, Any] = {"site": topics.site, "source": "ask", "time": round(stamp, 3)}
    if ask.id is not None:
        message["id"] = ask.id
    message.update(text=BUSY_REPLY, busy=True)
    out = HOUSE if ask.origin == HOUSE_ASK else topics
    return out.reply, json.dumps(message)


class Interface:
    """Publishes state and turns; turns ask/say messages into requests."""

    def __init__(
        self,
        site: str,
        publish: PublishFn,
        *,
        trusted_users: Sequence[str] = (),
        say_from: SayFrom = "anyone",
        house_group: str | None = None,
    ) -> None:
        self.topics = Topics(site_topic_safe(site), tuple(trusted_users), say_from, house_group)
        self._publish = publish
        self._state: str | None = None
        self.dropped = 0
        """Requests dropped because the queue was full (each ask answered "busy")."""
        self._replies: set[asyncio.Task[None]] = set()
        self.controls_topics = ControlTopics(self.topics.base)
        self.controls: asyncio.Queue[Control] = asyncio.Queue(16)
        """Mute / wake word / listen messages, for the live pipeline to apply."""

    @classmethod
    def from_settings(
        cls, site: SiteConfig, publish: PublishFn, house: str | None = None
    ) -> Interface:
        """From `[site]` (`assistant.config.SiteConfig`) and `[house] group` when enabled."""
        users, say_from = site.mqtt_trusted_users, site.mqtt_say
        return cls(site.id, publish, trusted_users=users, say_from=say_from, house_group=house)

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

    async def publish_event(self, activity: Activity) -> None:
        """One event (wake, intent, error) for Home Assistant's event entity."""
        message: dict[str, str | None] = {"event_type": activity.event_type}
        message["site"] = self.topics.site
        message.update((k, cap(v, MAX_TEXT) if v else v) for k, v in activity.data)
        await self._publish(self.controls_topics.event, json.dumps(message), False)

    async def publish_controls(self, muted: bool, wake_word: str | None) -> None:
        """The retained states of the mute switch and the wake word select."""
        await self._publish(self.controls_topics.mute, "ON" if muted else "OFF", True)
        if wake_word is not None:
            await self._publish(self.controls_topics.wake_word, wake_word, True)

    def offer_control(self, topic: str, payload: bytes | str) -> bool:
        """Queue the control a message on `topic` asks for; False if none (or too many)."""
        control = parse_control(self.controls_topics, topic, payload)
        if control is None:
            return False
        try:
            self.controls.put_nowait(control)
        except asyncio.QueueFull:
            log.warning("too many control messages waiting: %s dropped", control.kind)
            return False
        return True

    def parse(self, topic: str, payload: bytes | str) -> Request | None:
        """A message on one of our topics -> a request (None when not ours or unusable)."""
        return parse_request(self.topics, topic, payload)

    def offer(self, request: Request, queue: asyncio.Queue[Request]) -> bool:
        """Queue `request`; when the queue is full, drop it and answer an ask "busy".

        Call from the event loop (an MQTT message callback).
        """
        try:
            queue.put_nowait(request)
        except asyncio.QueueFull:
            pass
        else:
            return True
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 50 == 0:
            log.warning(
                "too many ask/say requests waiting: %d dropped so far (latest %s)",
                self.dropped,
                clean(request.text, 80),
            )
        if isinstance(request, Ask):
            self._reply_busy(request)
        return False

    def _reply_busy(self, ask: Ask) -> None:
        if len(self._replies) >= MAX_BUSY_REPLIES:
            return  # a flood: the broker already has enough of our "busy" replies queued
        topic, payload = busy_payload(self.topics, ask)

        async def send() -> None:
            await self._publish(topic, payload, False)

        task = asyncio.get_running_loop().create_task(send(), name="interface-busy-reply")
        self._replies.add(task)
        task.add_done_callback(self._reply_done)

    def _reply_done(self, task: asyncio.Task[None]) -> None:
        self._replies.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not send a busy reply: %s", task.exception())
