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
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

from assistant.audio import SAMPLE_RATE, Samples
from assistant.cpu.foreground import Foreground
from assistant.pipeline.grammar_refresh import GrammarRefresh
from assistant.pipeline.listener import StreamFeeder
from assistant.pipeline.messages import StartedBy, TurnResult, Utterance
from assistant.stt import SttEngine
from assistant.timing import elapsed_ms
from assistant.understanding.origin import VOICE, Origin

if TYPE_CHECKING:
    # Understanding (hassil) loads with the engine, not with the pipeline.
    from assistant.understanding.outcome import Outcome

log = logging.getLogger(__name__)

Understand = Callable[[str, Origin], Awaitable["Outcome"]]
"""(text, where it came from) -> what was understood and done.

The conversation lives behind it, one per origin."""

Heard = Callable[[str], Awaitable[None]]
"""Told the transcript of a turn before it is understood."""

DISPATCH_GRACE_SECONDS = 1.0


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


class TurnRunner:
    """Runs turns one at a time with engines loaded once."""

    def __init__(
        self,
        stt: SttEngine | None,
        understand: Understand,
        tts: Synthesizer | None = None,
        grammar: GrammarRefresh | None = None,
    ) -> None:
        self.stt = stt
        self.understand = understand
        self.tts = tts
        self.grammar = grammar
        """Hands the STT engine a new phrase list between utterances (Vosk grammar mode)."""
        self.foreground: Foreground | None = None
        """Held by a turn until its reply is ready (the listener took it at the wake word)."""
        self.turns = 0
        self.failures = 0
        self._stt_thread = ThreadPoolExecutor(1, thread_name_prefix="stt")
        # The frames of the command being streamed (the gateway's microphone), kept so
        # that a whole utterance decoded meanwhile (a satellite's) cannot mix with it.
        self._streaming: list[Samples] = []
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

    async def apply_grammar(self) -> None:
        """Hand the engine its newest phrase list now (at start-up, before any utterance)."""
        await asyncio.get_running_loop().run_in_executor(self._stt_thread, self._between_utterances)

    def _between_utterances(self) -> None:
        # On the STT thread, before a new utterance's first audio.
        if self.grammar is not None:
            self.grammar.apply()

    def _stream_reset(self) -> None:
        assert self.stt is not None
        self._between_utterances()
        self.stt.reset()
        self._streaming = []

    def _stream_accept(self, frame: Samples) -> None:
        assert self.stt is not None
        self.stt.accept(frame)
        self._streaming.append(frame)

    def _decode(self, samples: Samples | None) -> str:
        assert self.stt is not None
        held = self._streaming if samples is not None else []
        if samples is None:
            self._streaming = []
        elif held:
            self.stt.reset()  # set the streamed command aside; it is fed again below
        if samples is not None:
            self._between_utterances()
        try:
            if samples is not None:
                self.stt.accept(samples)
            transcript = self.stt.finish()
        except BaseException:
            self.stt.reset()
            raise
        finally:
            for frame in held:
                self.stt.accept(frame)
        return transcript.text.strip()

    async def transcribe(self, utterance: Utterance) -> tuple[str, float]:
        """The utterance's text and the decode time in ms."""
        if self.stt is None:
            raise RuntimeError("no speech recognition engine loaded")
        start = time.monotonic()
        loop = asyncio.get_running_loop()
        # Streamed: the engine already has the audio; only the final decode is left.
        samples = None if utterance.streamed else utterance.samples
        text = await loop.run_in_executor(self._stt_thread, self._decode, samples)
        return text, elapsed_ms(start)

    async def from_audio(
        self,
        utterance: Utterance,
        speak: bool = True,
        origin: Origin = VOICE,
        heard: Heard | None = None,
    ) -> TurnResult:
        """STT, then the text's turn; end_of_speech_to_action counts from the utterance's end.

        `heard` gets the transcript as soon as it is known (a satellite stops
        streaming on it), before understanding starts."""
        with self._foreground():
            return await self._from_audio(utterance, speak, origin, heard)

    async def _from_audio(
        self, utterance: Utterance, speak: bool, origin: Origin, heard: Heard | None
    ) -> TurnResult:
        text, stt_ms = await self.transcribe(utterance)
        if heard is not None:
            await heard(text)
        # "audio": the utterance's length in ms, so stt / audio is the real-time factor.
        timings = {"stt": stt_ms, "audio": utterance.samples.size / SAMPLE_RATE * 1000}
        if not text:
            return TurnResult("", None, utterance.started_by, {"stt": stt_ms})
        return await self._turn(
            text,
            origin,
            started_by=utterance.started_by,
            end_of_speech=utterance.end_of_speech,
            timings=timings,
            speak=speak,
        )

    async def from_text(
        self, text: str, origin: Origin, started_by: StartedBy = "ask", speak: bool = True
    ) -> TurnResult:
        """A text handled as if it had been spoken (`ask` over MQTT, from `origin`)."""
        with self._foreground():
            return await self._turn(
                text,
                origin,
                started_by=started_by,
                end_of_speech=time.monotonic(),
                timings={"stt": 0.0},
                speak=speak,
            )

    @contextlib.contextmanager
    def _foreground(self) -> Iterator[None]:
        """Background work waits until this turn's reply is ready."""
        if self.foreground is None:
            yield
            return
        self.foreground.begin()
        try:
            yield
        finally:
            self.foreground.end()

    async def _turn(
        self,
        text: str,
        origin: Origin,
        *,
        started_by: StartedBy,
        end_of_speech: float,
        timings: dict[str, float],
        speak: bool,
    ) -> TurnResult:
        self.turns += 1
        start = time.monotonic()
        try:
            outcome = await _finish_sending(self.understand(text, origin))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failures += 1
            log.exception("turn failed for %r", text)
            timings["understanding"] = elapsed_ms(start)
            return TurnResult(text, None, started_by, timings, error=f"{type(exc).__name__}: {exc}")
        done = time.monotonic()
        own = outcome.timings_ms
        timings["understanding"] = own.get("understanding", elapsed_ms(start, done))
        if "llm" in own:
            timings["llm"] = own["llm"]
        timings["dispatch"] = own.get("dispatch", 0.0)
        timings["end_of_speech_to_action"] = elapsed_ms(end_of_speech, done)
        audio = None
        if speak and outcome.reply:
            audio, timings["tts"] = await self.synthesize(outcome.reply)
        return TurnResult(
            text, outcome, started_by, timings, reply_audio=audio, end_of_speech=end_of_speech
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
            return None, elapsed_ms(start)
        return audio, elapsed_ms(start)


async def _finish_sending(work: Awaitable[Outcome]) -> Outcome:
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
