"""The assistant's own switch, select and button: topics and messages.

Under ``assistant/<site>/`` next to the interface's topics:

- ``mute`` (retained ``ON``/``OFF``) and ``mute/set``: when muted the wake
  word is not listened for (the listen button still works: push to talk)
- ``wake_word`` (retained model name) and ``wake_word/set``: switch the model
- ``listen`` (any payload): take the next speech as a command, no wake word
- ``event``: JSON ``{"event_type": "wake" | "intent" | "error", ...}``

Nothing here is sensitive, so anyone on the broker may publish to these.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from assistant.textsafe import clean

if TYPE_CHECKING:
    from assistant.wake import WakeDetector

log = logging.getLogger(__name__)

MAX_VALUE = 64  # characters of a control payload that are read


@dataclass(frozen=True)
class ControlTopics:
    """The control topics of one site (`base` is ``assistant/<site>``)."""

    base: str

    @property
    def event(self) -> str:
        """Wake / intent / error events (Home Assistant's event entity)."""
        return f"{self.base}/event"

    @property
    def mute(self) -> str:
        """Retained ON/OFF: the microphone ignores the wake word."""
        return f"{self.base}/mute"

    @property
    def mute_set(self) -> str:
        """ON/OFF in: mute or unmute."""
        return f"{self.mute}/set"

    @property
    def wake_word(self) -> str:
        """Retained: the wake word model in use."""
        return f"{self.base}/wake_word"

    @property
    def wake_word_set(self) -> str:
        """A model name in: listen for that wake word."""
        return f"{self.wake_word}/set"

    @property
    def listen(self) -> str:
        """Any payload in: take the next speech as a command, without the wake word."""
        return f"{self.base}/listen"

    def subscriptions(self) -> tuple[str, ...]:
        """The control topics the assistant listens to."""
        return (self.mute_set, self.wake_word_set, self.listen)


@dataclass(frozen=True)
class Control:
    """A control message, applied at once rather than queued behind a turn.

    `value`: "ON"/"OFF" for mute, a model name for wake_word, "" for listen.
    """

    kind: Literal["mute", "wake_word", "listen"]
    value: str = ""


def parse_control(topics: ControlTopics, topic: str, payload: bytes | str) -> Control | None:
    """A message on a control topic -> a Control; None (logged) for anything unusable."""
    raw = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    value = raw.strip()[:MAX_VALUE]
    if topic == topics.listen:
        return Control("listen")
    if topic == topics.mute_set and value.upper() in ("ON", "OFF"):
        return Control("mute", value.upper())
    if topic == topics.wake_word_set and value:
        return Control("wake_word", value)
    if topic in topics.subscriptions():
        log.warning("ignoring %s: unusable payload %r", topic, clean(value, MAX_VALUE))
    return None


@dataclass(frozen=True)
class Activity:
    """One event for the event entity: `event_type` is wake, intent or error."""

    event_type: Literal["wake", "intent", "error"]
    data: tuple[tuple[str, str | None], ...] = ()
    """Extra fields of the JSON message (intent name, error text)."""


async def switched_wake_word(current: WakeDetector | None, name: str) -> WakeDetector | None:
    """A detector for the model `name`, loaded in a thread; None (logged) when `name` is
    unknown, the wake word is off in [wake], or `name` is already in use."""
    from assistant.wake.detector import MODELS, WakeWordDetector

    model = next((m for m in MODELS if m == name), None)
    if model is None:
        log.warning("unknown wake word %r (one of %s)", clean(name, MAX_VALUE), ", ".join(MODELS))
        return None
    if current is None:
        log.warning("wake word %s not loaded: the wake word is off in [wake]", model)
        return None
    if model == current.name:
        return None
    # The model's own cut-off: [wake] threshold was tuned for the configured model.
    detector = await asyncio.to_thread(WakeWordDetector, model)
    log.info("wake word now %s (until restart: [wake] model keeps it)", model)
    return detector
