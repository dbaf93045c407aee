"""Two passes: the home's phrases with Vosk first, Whisper when Vosk is not sure.

Speech-to-Phrase's idea (closed-vocabulary recognition is fast and exact for
the sentences a home understands) plus the fallback it lacks: a sentence
outside the phrase list is not forced onto the nearest phrase but handed,
same audio, to Whisper.

Both engines hear the utterance as it is spoken: Vosk decodes while the
frames arrive, Whisper only buffers them.  At the end, Vosk's answer stands
when its confidence (``VoskEngine.confidence``: the share of its n-best list
held by the phrase it chose, 0 when none of its guesses is a listed phrase)
reaches ``threshold``; otherwise Whisper decodes the buffer.  So a command
the home knows costs Vosk's final decode only, and anything else costs what
Whisper alone would, plus that.

The home's words reach both passes: ``set_phrases`` (Vosk's grammar) and
``set_bias`` (Whisper's prompt), both given by ``GrammarRefresh``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from assistant.audio import Samples
from assistant.stt.base import Transcript
from assistant.stt.vosk import VoskEngine
from assistant.stt.whisper import WhisperEngine

log = logging.getLogger(__name__)

Pass = Literal["closed", "open"]


class TwoPassEngine:
    """Vosk restricted to the home's phrases, with Whisper for what Vosk is unsure of."""

    name = "two-pass"

    def __init__(self, closed: VoskEngine, open_: WhisperEngine, threshold: float) -> None:
        """`threshold`: ``[stt] two_pass_confidence``."""
        self.closed = closed
        self.open = open_
        self.threshold = threshold
        self.model_name = f"{closed.model_name} + {open_.model_name}"
        self.answered: dict[Pass, int] = {"closed": 0, "open": 0}
        """Utterances each pass answered (the open pass: Whisper decoded)."""
        self.last_pass: Pass | None = None
        self.last_confidence: float | None = None
        """The closed pass's confidence on the last utterance (None: no phrase list)."""

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """The closed pass's phrases (None: no list, so Whisper answers everything)."""
        self.closed.set_phrases(phrases)
        self.open.reset()

    def set_bias(self, names: Sequence[str]) -> None:
        """The open pass's names (Whisper's prompt)."""
        self.open.set_bias(names)

    def accept(self, frames: Samples) -> str:
        """Feed both passes; the partial text is Vosk's."""
        self.open.accept(frames)
        return self.closed.accept(frames)

    def finish(self) -> Transcript:
        """Vosk's phrase if it is confident enough, else Whisper's text of the same audio."""
        closed = self.closed.finish()
        confidence = self.closed.confidence if self.closed.phrases is not None else None
        self.last_confidence = confidence
        if confidence is not None and closed.text and confidence >= self.threshold:
            self.open.reset()
            return self._answer("closed", closed, closed.decode_ms)
        opened = self.open.finish()
        return self._answer("open", opened, closed.decode_ms + opened.decode_ms)

    def reset(self) -> None:
        """Drop the utterance in both passes."""
        self.closed.reset()
        self.open.reset()

    def fork(self) -> TwoPassEngine:
        """A second stream (a satellite's): each pass forked on its loaded model."""
        return TwoPassEngine(self.closed.fork(), self.open.fork(), self.threshold)

    def _answer(self, which: Pass, result: Transcript, decode_ms: float) -> Transcript:
        self.answered[which] += 1
        self.last_pass = which
        log.debug(
            "two-pass: %s pass answered %r (vosk confidence %s)",
            which,
            result.text,
            "-" if self.last_confidence is None else f"{self.last_confidence:.2f}",
        )
        return replace(result, decode_ms=decode_ms)
