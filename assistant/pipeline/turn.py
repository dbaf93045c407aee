"""One turn: an utterance (or a text) through STT, understanding, the executor
and the spoken reply, with the timings `listen --json` reports.

Blocking work (STT decode, TTS synthesis) runs in worker threads; the
understanding coroutine runs the LLM in its own thread and sends commands
over MQTT.  A turn that is cancelled while commands are being sent gets a
short grace to finish them, so nothing is left half-sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from assistant.audio import SAMPLE_RATE, Samples
from assistant.pipeline.listener import StreamFeeder
from assistant.pipeline.messages import StartedBy, TurnResult, Understood, Utterance

log = logging.getLogger(__name__)

Understand = Callable[[str], Awaitable[Understood]]
"""text -> what was understood and done (the conversation lives behind it)."""

DISPATCH_GRACE_SECONDS = 1.0


class Transcriber(Protocol):
    """The part of an STT engine a turn needs."""

    def accept(self, frames: Samples) -> str:
        """Feed audio."""
        ...

    def finish(self) -> object:
        """Final transcript (an object with `.text`)."""
        ...

    def reset(self) -> None:
        """Drop the utterance."""
        ...


class Synthesizer(Protocol):
    """Text to 16 kHz mono int16 speech (blocking)."""

    def synthesize(self, text: str) -> Samples:
        """The reply as audio."""
        ...


class _Feeder:
    """Hands frames to the STT thread without waiting (order is kept)."""

    def __init__(self, runner: TurnRunner) -> None:
        self.runner = runner

    def accept(self, frame: Samples) -> None:
        if self.runner.stt is not None:
            self.runner._stt_thread.submit(self.runner._stream_accept, frame)

    def reset(self) -> None:
        if self.runner.stt is not None:
            self.runner._stt_thread.submit(self.runner._stream_reset)


def _ms(start: float, end: float | None = None) -> float:
    return ((time.monotonic() if end is None else end) - start) * 1000.0


class TurnRunner:
    """Runs turns one at a time with engines loaded once."""

    def __init__(
        self,
        stt: Transcriber | None,
        understand: Understand,
        tts: Synthesizer | None = None,
    ) -> None:
        self.stt = stt
        self.understand = understand
        self.tts = tts
        self.turns = 0
        self.failures = 0
        self.phrases: Callable[[], list[str]] | None = None
        """For closed-vocabulary STT (Vosk grammar): what the home understands now."""
        self.phrases_stale = False
        self._stt_thread = ThreadPoolExecutor(1, thread_name_prefix="stt")
        # Speech synthesis on a thread of its own too (one malloc arena, not one per pool thread).
        self._tts_thread = ThreadPoolExecutor(1, thread_name_prefix="tts")

    # --- STT: every engine call runs on one worker thread, in order ----------
    def feeder(self) -> StreamFeeder:
        """Streams a command's audio into the engine while it is spoken."""
        return _Feeder(self)

    def close(self) -> None:
        """Stop the STT thread (work not started is dropped)."""
        self._stt_thread.shutdown(wait=False, cancel_futures=True)
        self._tts_thread.shutdown(wait=False, cancel_futures=True)

    def _refresh_phrases(self) -> None:
        if self.phrases is not None and self.phrases_stale:
            # Changed devices change the grammar; rebuilt between utterances,
            # on the thread that owns the engine.
            self.phrases_stale = False
            self._set_phrases(self.phrases())

    def _stream_reset(self) -> None:
        assert self.stt is not None
        self._refresh_phrases()
        self.stt.reset()

    def _stream_accept(self, frame: Samples) -> None:
        assert self.stt is not None
        self.stt.accept(frame)

    def _decode(self, samples: Samples | None) -> str:
        assert self.stt is not None
        if samples is not None:
            self._refresh_phrases()
        try:
            if samples is not None:
                self.stt.accept(samples)
            transcript = self.stt.finish()
        except BaseException:
            self.stt.reset()
            raise
        return str(getattr(transcript, "text", transcript)).strip()

    def _set_phrases(self, phrases: list[str]) -> None:
        set_phrases = getattr(self.stt, "set_phrases", None)
        known = getattr(self.stt, "known_word", None)
        if set_phrases is None:
            return
        if known is not None and not any(all(known(w) for w in p.lower().split()) for p in phrases):
            # A grammar with no phrase the model can say would be empty (Vosk
            # crashes on that): a model for another language.  Stay free.
            log.warning("STT grammar: the model knows none of the phrases; recognising freely")
            return
        set_phrases(phrases)

    async def transcribe(self, utterance: Utterance) -> tuple[str, float]:
        """The utterance's text and the decode time in ms."""
        if self.stt is None:
            raise RuntimeError("no speech recognition engine loaded")
        start = time.monotonic()
        loop = asyncio.get_running_loop()
        # Streamed: the engine already has the audio; only the final decode is left.
        samples = None if utterance.streamed else utterance.samples
        text = await loop.run_in_executor(self._stt_thread, self._decode, samples)
        return text, _ms(start)

    async def from_audio(self, utterance: Utterance, speak: bool = True) -> TurnResult:
        """STT, then the text's turn; end_of_speech_to_action counts from the utterance's end."""
        text, stt_ms = await self.transcribe(utterance)
        # "audio": the utterance's length in ms, so stt / audio is the real-time factor.
        timings = {"stt": stt_ms, "audio": utterance.samples.size / SAMPLE_RATE * 1000}
        if not text:
            return TurnResult("", None, utterance.started_by, {"stt": stt_ms})
        return await self._turn(text, utterance.started_by, utterance.end_of_speech, timings, speak)

    async def from_text(
        self, text: str, started_by: StartedBy = "ask", speak: bool = True
    ) -> TurnResult:
        """A text handled as if it had been spoken (`ask` over MQTT)."""
        return await self._turn(text, started_by, time.monotonic(), {"stt": 0.0}, speak)

    async def _turn(
        self,
        text: str,
        started_by: StartedBy,
        end_of_speech: float,
        timings: dict[str, float],
        speak: bool,
    ) -> TurnResult:
        self.turns += 1
        start = time.monotonic()
        try:
            understood = await _finish_sending(self.understand(text))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failures += 1
            log.exception("turn failed for %r", text)
            timings["understanding"] = _ms(start)
            return TurnResult(text, None, started_by, timings, error=f"{type(exc).__name__}: {exc}")
        done = time.monotonic()
        own = dict(understood.timings_ms)
        timings["understanding"] = own.get("understanding", _ms(start, done))
        if "llm" in own:
            timings["llm"] = own["llm"]
        timings["dispatch"] = own.get("dispatch", 0.0)
        timings["end_of_speech_to_action"] = _ms(end_of_speech, done)
        audio = None
        if speak and understood.reply:
            audio, timings["tts"] = await self.synthesize(understood.reply)
        return TurnResult(
            text, understood, started_by, timings, reply_audio=audio, end_of_speech=end_of_speech
        )

    async def synthesize(self, text: str) -> tuple[Samples | None, float]:
        """Speech for a reply (None when TTS is off or fails: logged, never raised)."""
        if self.tts is None or not text:
            return None, 0.0
        start = time.monotonic()
        try:
            loop = asyncio.get_running_loop()
            audio = await loop.run_in_executor(self._tts_thread, self.tts.synthesize, text)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("text to speech failed for %r", text)
            return None, _ms(start)
        return audio, _ms(start)


async def _finish_sending(work: Awaitable[Understood]) -> Understood:
    """Await understanding; if cancelled meanwhile, give it a short grace so a
    command being sent is finished rather than cut (then cancel it)."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), DISPATCH_GRACE_SECONDS)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        raise
