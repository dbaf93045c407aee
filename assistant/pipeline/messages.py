"""Messages between the pipeline's stages: small, immutable, cheap to queue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from assistant.audio import Samples

if TYPE_CHECKING:
    # Understanding (hassil) loads with the engine, not with the pipeline's messages.
    from assistant.understanding.outcome import Outcome

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


TIMING_DECIMALS = 2
"""`timings_ms` in JSON: the same rounding as `ask --json` (understanding's Outcome)."""


@dataclass(frozen=True)
class TurnResult:
    """One finished turn: the JSON object `assistant listen --json` prints."""

    transcript: str
    outcome: Outcome | None
    """What understanding made of the transcript, unchanged (None: not understood or failed)."""
    started_by: StartedBy
    timings_ms: Mapping[str, float]
    reply_audio: Samples | None = None
    error: str | None = None
    end_of_speech: float | None = None
    """time.monotonic() of the end of speech (benchmarks measure from here)."""

    @property
    def reply(self) -> str:
        """The text spoken back ("" when nothing was said)."""
        return self.outcome.reply if self.outcome else ""

    @property
    def awaiting_confirmation(self) -> bool:
        """True when the reply asks a question ("Are you sure?") that wants a follow-up."""
        return self.outcome is not None and self.outcome.awaiting_confirmation

    def to_json(self) -> dict[str, object]:
        """The `listen --json` contract: transcript, intent, slots, actions, reply, ..."""
        # The understanding fields are the Outcome's own JSON, so `ask` and `listen` agree.
        shown: dict[str, object] = self.outcome.to_json() if self.outcome else {}
        data: dict[str, object] = {
            "transcript": self.transcript,
            "intent": shown.get("intent"),
            "slots": shown.get("slots", {}),
            "actions": shown.get("actions", []),
            "reply": self.reply,
            "handled_by": shown.get("handled_by"),
            "started_by": self.started_by,
            "timings_ms": {k: round(v, TIMING_DECIMALS) for k, v in self.timings_ms.items()},
        }
        if self.error:
            data["error"] = self.error
        return data
