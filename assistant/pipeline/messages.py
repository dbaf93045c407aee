"""Messages between the pipeline's stages: small, immutable, cheap to queue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.audio import Samples

StartedBy = Literal["wake", "follow-up", "no-wake", "ask"]


@dataclass(frozen=True)
class Frame:
    """One block of microphone audio and when it arrived (time.monotonic())."""

    samples: Samples
    at: float


@dataclass(frozen=True)
class Utterance:
    """What was said after the wake word, up to the end of speech."""

    samples: Samples
    end_of_speech: float
    """time.monotonic() when the end of speech was detected."""
    started_by: StartedBy = "wake"
    streamed: bool = False
    """True when the STT engine already received the audio while it was spoken."""


@dataclass(frozen=True)
class Understood:
    """What understanding and the executor made of one text."""

    intent: str | None
    slots: Mapping[str, Any] = field(default_factory=dict)
    actions: Sequence[Mapping[str, Any]] = ()
    reply: str = ""
    handled_by: str | None = None
    awaiting_confirmation: bool = False
    """True when the reply is a question ("Are you sure?") that wants a follow-up."""
    timings_ms: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TurnResult:
    """One finished turn: the JSON object `assistant listen --json` prints."""

    transcript: str
    understood: Understood | None
    started_by: StartedBy
    timings_ms: Mapping[str, float]
    reply_audio: Samples | None = None
    error: str | None = None
    end_of_speech: float | None = None
    """time.monotonic() of the end of speech (benchmarks measure from here)."""

    @property
    def reply(self) -> str:
        """The text spoken back ("" when nothing was said)."""
        return self.understood.reply if self.understood else ""

    def to_json(self) -> dict[str, Any]:
        """The `listen --json` contract: transcript, intent, slots, actions, reply, ..."""
        u = self.understood
        data: dict[str, Any] = {
            "transcript": self.transcript,
            "intent": u.intent if u else None,
            "slots": dict(u.slots) if u else {},
            "actions": [dict(a) for a in u.actions] if u else [],
            "reply": self.reply,
            "handled_by": u.handled_by if u else None,
            "started_by": self.started_by,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }
        if self.error:
            data["error"] = self.error
        return data
