"""The speech-recognition engine contract shared by every engine.

An engine receives one utterance as 16 kHz mono int16 frames, offers partial
text while it listens (when it can), and gives the final text on
``finish()``.  After ``finish()`` it is ready for the next utterance; the model
stays loaded for the life of the engine.

Abilities only some engines have are protocols of their own, checked with
``isinstance``: ``PhraseRestrictable`` (Vosk's grammar: only those phrases) and
``PhraseBiased`` (Whisper's prompt: the home's words made more likely) and
``Forkable`` (a second utterance stream on the same loaded model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from assistant.audio import Samples


@dataclass(frozen=True)
class Transcript:
    """The final text of one utterance and what produced it."""

    text: str
    engine: str
    model: str
    audio_seconds: float
    decode_ms: float


class SttEngine(Protocol):
    """Streaming speech recognition for one utterance at a time."""

    name: str
    model_name: str

    def accept(self, frames: Samples) -> str:
        """Feed 16 kHz mono int16 frames; return the partial text so far ("" if none)."""
        ...

    def finish(self) -> Transcript:
        """End the utterance: return the final text and reset for the next one."""
        ...

    def reset(self) -> None:
        """Drop the current utterance without decoding it."""
        ...


@runtime_checkable
class PhraseRestrictable(Protocol):
    """An engine that can be told the only phrases to expect (Vosk's grammar mode)."""

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """Expect these phrases from the next utterance on (None: recognise freely).

        Call between utterances, on the thread that feeds the engine: the
        utterance in progress is dropped.
        """
        ...


@runtime_checkable
class PhraseBiased(Protocol):
    """An open-vocabulary engine that can be told the home's words (Whisper's prompt)."""

    def set_bias(self, names: Sequence[str]) -> None:
        """Favour these names (devices, aliases, areas) from the next utterance on.

        An empty list: no bias.  Call between utterances, on the thread that
        feeds the engine.
        """
        ...


@runtime_checkable
class Forkable(Protocol):
    """An engine that can open a second stream on its loaded model."""

    def fork(self) -> SttEngine:
        """A new engine sharing this one's model, with an utterance (and phrases) of its own.

        The two may be fed from different threads at once: the model itself
        is shared, never the utterance in progress.
        """
        ...


def normalise_phrase(text: str) -> str:
    """Lowercase and collapse whitespace: the form phrases are compared in."""
    return " ".join(text.lower().split())
