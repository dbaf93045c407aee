"""The live pipeline: named tasks joined by bounded queues on one event loop.

::

    audio-in --frames--> listen --utterances--> turns --> speaker
                           ^                      ^
                           |  barge-in            +-- requests (MQTT ask/say)
    interface-out <-- state changes and finished turns

``audio-in`` moves microphone frames into a bounded queue; when ``listen``
falls behind the oldest frame is dropped and counted.  ``listen`` runs the
wake/end-of-speech state machine (with ``[house]``, a wake word is answered
only by the gateway that heard it best: ``arbitration``); ``turns`` handles
one conversation at a time and speaks the reply; a wake word during the
reply cancels it.  ``interface-out`` publishes state changes in order
without blocking the audio path; ``controls`` applies the mute switch, wake
word select and listen button at once (muted: no wake word; the button
still starts a command).  ``stop()`` cancels from the microphone inwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from assistant.audio import SAMPLE_RATE, Samples
from assistant.audio.sinks import AudioSink
from assistant.audio.sources import AudioSource
from assistant.errors import UserError
from assistant.integrations.controls import Activity
from assistant.interface import HOUSE_ASK, Ask, Interface, Request, Say, State, TurnReport
from assistant.pipeline.arbitration import WakeArbiter
from assistant.pipeline.listener import CommandReady, Listener, NothingSaid, WakeHeard
from assistant.pipeline.live_controls import LiveControls
from assistant.pipeline.messages import Frame, TurnResult, Utterance
from assistant.pipeline.turn import TurnRunner
from assistant.tts import wake_chime

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 1.5


@dataclass(frozen=True)
class Options:
    """Knobs of the live pipeline."""

    queue_frames: int = 166
    """Frames buffered between audio-in and listen (5 s of 30 ms frames)."""
    earcon: bool = True


class LivePipeline(LiveControls):
    """Owns the queues and tasks of the running assistant."""

    def __init__(
        self,
        source: AudioSource,
        listener: Listener,
        turns: TurnRunner,
        *,
        sink: AudioSink | None = None,
        interface: Interface | None = None,
        requests: asyncio.Queue[Request] | None = None,
        options: Options | None = None,
        on_turn: Callable[[TurnResult], None] | None = None,
        arbiter: WakeArbiter | None = None,
    ) -> None:
        self.source = source
        self.listener = listener
        self.turns = turns
        self.sink = sink
        self.interface = interface
        self.options = options or Options()
        self.on_turn = on_turn
        self.arbiter = arbiter
        """[house]: of the gateways that heard the wake word, only the best one answers."""
        self.frames: asyncio.Queue[Frame | None] = asyncio.Queue(self.options.queue_frames)
        self.utterances: asyncio.Queue[Utterance | None] = asyncio.Queue(2)
        self.requests: asyncio.Queue[Request] = requests or asyncio.Queue(16)
        self.outbox: asyncio.Queue[State | TurnReport | Activity] = asyncio.Queue(64)
        self.dropped_frames = 0
        self.dropped_reports = 0
        self.frames_in = 0
        self._speech: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.state: State = "idle"
        self.muted = False
        """The wake word is not listened for (the mute switch)."""

    # --- lifecycle ----------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set (or the audio source ends), then stop cleanly."""
        if self.interface is not None:
            # Briefly: a broker that went away must not hold the start (and a
            # SIGTERM) for the command's TTL; the birth message says it again.
            with contextlib.suppress(TimeoutError, UserError):
                async with asyncio.timeout(0.5):
                    await self.interface.online()
                    await self.interface.publish_controls(self.muted, self._wake_name())
        starts = {
            "interface-out": self._interface_out(),
            "turns": self._turns(),
            "listen": self._listen(),
            "audio-in": self._audio_in(),
        }
        if self.interface is not None:
            starts["controls"] = self._controls(self.interface.controls)
        self._tasks = [asyncio.create_task(coro, name=name) for name, coro in starts.items()]
        stopper = asyncio.create_task(stop.wait(), name="stop-wait")
        turns = self._tasks[1]
        try:
            # The end of a recording drains through listen and turns: the last
            # command is still answered.  A stage that fails stops everything.
            pending: set[asyncio.Task[object]] = {stopper, *self._tasks}
            while stopper in pending and turns in pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    error = None if task is stopper or task.cancelled() else task.exception()
                    if error is not None:
                        raise error
        finally:
            stopper.cancel()
            await self.stop()

    async def stop(self) -> None:
        """Cancel from the microphone inwards; publish what is queued and `offline`."""
        by_name = {task.get_name(): task for task in self._tasks}
        for name in ("controls", "audio-in", "listen", "turns"):
            task = by_name.get(name)
            if task is not None and not task.done():
                task.cancel()
                # The turn gets a short grace to finish sending a command.
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, SHUTDOWN_SECONDS)
        await self._cancel_speech()
        out = by_name.get("interface-out")
        if out is not None and not out.done():
            # Let queued state changes go out, briefly, then stop the publisher.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.3):
                    await self.outbox.join()
            out.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await out
        if self.interface is not None:
            with contextlib.suppress(TimeoutError, OSError):
                async with asyncio.timeout(0.3):
                    await self.interface.offline()
        self._tasks = []

    # --- stages -------------------------------------------------------------
    async def _audio_in(self) -> None:
        async with contextlib.aclosing(self.source.frames()) as frames:
            async for samples in frames:
                self.frames_in += 1
                self._put_frame(Frame(samples, time.monotonic()))
        log.info("audio source %s ended", self.source.name)
        self._put_frame(None)  # end of audio: listen finishes the command in progress

    def _put_frame(self, frame: Frame | None) -> None:
        if self.frames.full():
            # The listener is behind: the newest audio is what matters.
            self.frames.get_nowait()
            self.dropped_frames += 1
        self.frames.put_nowait(frame)

    async def _listen(self) -> None:
        while True:
            frame = await self.frames.get()
            if frame is None:
                event = self.listener.finish(time.monotonic())
                if isinstance(event, CommandReady):
                    self._set_state("thinking")
                    await self.utterances.put(event.utterance)
                await self.utterances.put(None)
                return
            if self.muted and not self._taking_command():
                continue  # muted: the wake word detector hears nothing
            if self.arbiter is not None:
                self.arbiter.hear(frame.samples)
            event = self.listener.process(frame.samples, frame.at)
            if event is None:
                continue
            if isinstance(event, WakeHeard):
                log.info("wake word%s", " (barge-in)" if event.barge_in else "")
                if event.barge_in:
                    await self._cancel_speech()
                if self.arbiter is None:
                    self._answer_wake()
                else:  # the claims of the other gateways decide, in the background
                    self.arbiter.contend_later(self.listener.wake, self._answer_wake)
            elif self.arbiter is not None and not await self.arbiter.answering():
                continue  # the end of a command whose wake word another gateway answers
            elif isinstance(event, CommandReady):
                self._set_state("thinking")
                self.utterances.put_nowait(event.utterance)
            elif isinstance(event, NothingSaid):
                log.info("nothing said after the %s", event.started_by)
                self.listener.idle()
                self._set_state("idle")

    def _answer_wake(self, answer: bool = True) -> None:
        if not answer:  # another gateway heard the wake word better: no chime, no reply
            self.listener.idle()
            self._set_state("idle")
            return
        self._outbox(Activity("wake"))
        self._set_state("listening")
        if self.options.earcon and self.sink is not None:
            chime = wake_chime()
            # The microphone hears the chime too: not the start of the command.
            self.listener.ignore(chime.size + SAMPLE_RATE // 10)
            self._start_speech(chime)

    async def _turns(self) -> None:
        while True:
            utterance_wait = asyncio.ensure_future(self.utterances.get())
            request_wait = asyncio.ensure_future(self.requests.get())
            try:
                done, _ = await asyncio.wait(
                    {utterance_wait, request_wait}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiter in (utterance_wait, request_wait):
                    if not waiter.done():
                        waiter.cancel()
            # Both may be ready at once: take the spoken one first, re-queue the other.
            if utterance_wait in done:
                if request_wait in done:
                    self.requests.put_nowait(request_wait.result())
                utterance = utterance_wait.result()
                if utterance is None:
                    return  # the audio ended and every command was answered
                await self._voice_turn(utterance)
            else:
                await self._request(request_wait.result())

    async def _voice_turn(self, utterance: Utterance) -> None:
        result = await self.turns.from_audio(utterance)
        await self._after_turn(result, "voice")

    async def _request(self, request: Request) -> None:
        if isinstance(request, Say):
            audio, _ = await self.turns.synthesize(request.text)
            await self._speak(audio)
            self._back_to_idle(False)
            return
        assert isinstance(request, Ask)
        self.listener.busy()
        self._set_state("thinking")
        result = await self.turns.from_text(request.text, request.origin)
        await self._after_turn(result, "ask", request.id, request.origin == HOUSE_ASK)

    async def _after_turn(
        self, result: TurnResult, source: str, request_id: str | None = None, house: bool = False
    ) -> None:
        if self.on_turn is not None:
            self.on_turn(result)
        o = result.outcome
        if result.error is not None:
            self._outbox(Activity("error", (("error", result.error),)))
        elif o is not None and o.intent:
            self._outbox(Activity("intent", (("intent", o.intent), ("text", result.transcript))))
        if result.transcript:
            await self._report_turn(
                TurnReport(
                    transcript=result.transcript,
                    intent=o.intent if o else None,
                    slots=dict(o.slots) if o else {},
                    actions=[a.to_json() for a in o.actions] if o else [],
                    reply=result.reply,
                    handled_by=o.handled_by if o else None,
                    source="ask" if source == "ask" else "voice",
                    request_id=request_id,
                    house=house,
                )
            )
        await self._speak(result.reply_audio)
        self._back_to_idle(result.awaiting_confirmation)

    def _back_to_idle(self, follow_up: bool) -> None:
        if self.listener.mode == "command":
            return  # a barge-in already started the next command
        if follow_up:
            # "Are you sure?": the answer needs no wake word.
            self.listener.expect_command("follow-up")
            self._set_state("listening")
        else:
            self.listener.idle()
            self._set_state("idle")

    # --- speaking -----------------------------------------------------------
    async def _speak(self, audio: Samples | None) -> None:
        if audio is None or self.sink is None:
            return
        if self.listener.mode != "command":
            self.listener.busy()
        self._set_state("speaking")
        task = self._start_speech(audio)
        await asyncio.wait({task})  # a barge-in cancels `task`, not us

    def _start_speech(self, audio: Samples) -> asyncio.Task[None]:
        if self._speech is not None and not self._speech.done():
            self._speech.cancel()
        self._speech = asyncio.create_task(self._play(audio), name="speaker")
        return self._speech

    async def _play(self, audio: Samples) -> None:
        if self.sink is None:
            return
        try:
            await self.sink.play(audio)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("playing audio failed")

    async def _cancel_speech(self) -> None:
        task, self._speech = self._speech, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- interface ----------------------------------------------------------
    def _set_state(self, state: State) -> None:
        if state != self.state:
            self.state = state
            self._outbox(state)

    async def _report_turn(self, report: TurnReport) -> None:
        if report.source != "ask" or self.interface is None:
            self._outbox(report)
            return
        # An ask's reply goes out now, not through the drop-oldest outbox: a flood
        # then backs up into the request queue, where every overflowing ask is
        # answered "busy" (Interface.offer) instead of being dropped in silence.
        try:
            await self.interface.publish_turn(report)
        except (UserError, OSError) as exc:
            log.warning("could not publish the reply to an ask: %s", exc)

    def _outbox(self, item: State | TurnReport | Activity) -> None:
        if self.interface is None:
            return
        if self.outbox.full():
            self.outbox.get_nowait()
            self.outbox.task_done()
            self.dropped_reports += 1
        self.outbox.put_nowait(item)

    async def _interface_out(self) -> None:
        while True:
            item = await self.outbox.get()
            try:
                if self.interface is None:
                    continue
                if isinstance(item, TurnReport):
                    await self.interface.publish_turn(item)
                elif isinstance(item, Activity):
                    await self.interface.publish_event(item)
                else:
                    await self.interface.set_state(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the broker may be away; keep going
                log.warning("could not publish to the interface: %s", exc)
            finally:
                self.outbox.task_done()
