"""One conversation: what is waiting for a "yes", and how to speak out of turn."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from assistant.understanding.calls import IntentCall

Announce = Callable[[str], Awaitable[None]]

_YES = re.compile(
    r"^(yes|yeah|yep|sure|ok(ay)?|do it|go ahead|confirm(ed)?|correct|"
    r"yes please|please do|affirmative|absolutely|of course)$"
)
_NO = re.compile(r"^(no|nope|nah|cancel|stop|don'?t|do not|never ?mind|no thanks|abort)$")


def _clean(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]", " ", text.casefold()).split())


def is_yes(text: str) -> bool:
    """A spoken yes."""
    return bool(_YES.match(_clean(text)))


def is_no(text: str) -> bool:
    """A spoken no."""
    return bool(_NO.match(_clean(text)))


@dataclass
class PendingConfirmation:
    """A sensitive call waiting for "yes" until `deadline` (time.monotonic())."""

    call: IntentCall
    texts: Mapping[str, str]
    response: str | None
    deadline: float
    handled_by: str | None
    entity_ids: tuple[str, ...] = ()


@dataclass
class Conversation:
    """State that spans utterances: a pending confirmation, the reply channel."""

    announce: Announce | None = None
    pending: PendingConfirmation | None = None
    history: list[str] = field(default_factory=list)

    def take_pending(self, now: float | None = None) -> tuple[PendingConfirmation | None, bool]:
        """The pending confirmation and whether it is still in time; clears it."""
        pending, self.pending = self.pending, None
        if pending is None:
            return None, False
        moment = time.monotonic() if now is None else now
        return pending, moment <= pending.deadline

    def remember(self, text: str, keep: int = 20) -> None:
        """Keep the last few utterances (for logs and follow-ups)."""
        self.history.append(text)
        del self.history[:-keep]

    def details(self) -> dict[str, Any]:
        """A small snapshot for debugging."""
        return {
            "pending": None if self.pending is None else self.pending.call.intent,
            "history": list(self.history),
        }
