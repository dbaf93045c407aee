"""One conversation (one per origin): what is waiting for a "yes", and how to speak out of turn.

The yes and no words are the language's (replies.py)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from assistant.understanding.calls import IntentCall

Announce = Callable[[str], Awaitable[None]]


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
