"""Where an utterance comes from: its own conversation, and what it may ask for.

Every request carries an ``Origin``.  Understanding keeps one conversation per
``Origin.key``, so a "yes" only answers a question asked on the same channel
(the same microphone, satellite, or authorised MQTT user), and an origin that
is not ``sensitive`` cannot unlock doors or open garage doors at all.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """One channel of requests."""

    key: str
    """Conversation key: "voice", "cli", "mqtt:<site>", "mqtt-user:<name>", "satellite:<name>"."""
    sensitive: bool = True
    """May this channel ask for sensitive actions (unlock, open a garage door or gate)?"""
    area: str | None = None
    """The room this channel is in ("turn on the lights" means its lights); None: the
    assistant's own `[understanding] area`."""


VOICE = Origin("voice")
"""The gateway's own microphone (and recordings given to `listen`)."""
CLI = Origin("cli")
"""A person at the gateway's shell (`assistant ask`, `intents test`)."""

REQUESTING: ContextVar[Origin | None] = ContextVar("requesting_origin", default=None)
"""The origin of the request being handled: set by `Understanding.process`, read
by what outlives the request (a timer runs its command with the sensitivity of
the origin that set it, never more)."""
