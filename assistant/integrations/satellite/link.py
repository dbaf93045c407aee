"""One Wyoming satellite: the gateway connects to it, says run-satellite, and answers.

The conversation, as wyoming-satellite holds it with its server::

    gateway  -> describe              satellite -> info (is it a satellite? its area)
    gateway  -> run-satellite
    satellite -> run-pipeline (asr: its own wake word fired; wake: ours runs on its stream)
    satellite -> audio-chunk ...      the gateway's VAD finds the end of speech
    gateway  -> voice-stopped, transcript, synthesize, audio-start/chunk.../audio-stop

Each satellite has its own listener (wake word + end of speech), its own
``Origin`` (so its own conversation and its area), and shares the STT,
understanding and TTS engines with the gateway's microphone.  A satellite that
goes away, stops answering or sends garbage is one log line; the link
reconnects with jittered, capped backoff and nothing else is disturbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import RunSatellite
from wyoming.tts import Synthesize
from wyoming.vad import VoiceStopped
from wyoming.wake import Detection

from assistant.audio import Samples
from assistant.config_satellite import SatelliteConfig
from assistant.integrations.satellite.audio import ChunkReader, reply_events
from assistant.integrations.wyoming.stream import open_bounded
from assistant.pipeline.listener import CommandReady, Listener, NothingSaid, WakeHeard
from assistant.pipeline.messages import TurnResult, Utterance
from assistant.pipeline.turn import TurnRunner
from assistant.textsafe import clean
from assistant.transports.mqtt_options import backoff_delay
from assistant.understanding.conversation import Announce
from assistant.understanding.origin import Origin

log = logging.getLogger(__name__)

CONNECT_SECONDS = 5.0
DESCRIBE_SECONDS = 5.0
"""A peer that does not say what it is within this long is not a satellite we can use."""
NO_TEXT = "stt-no-text-recognized"
"""Home Assistant's error code for "nothing was heard"; satellites react to it."""
MALFORMED = (KeyError, TypeError, ValueError, AttributeError)
"""What a malformed event raises while it is read or decoded."""


class SatelliteGone(Exception):
    """The session ended; the message says why, in a few words."""


class NotASatellite(Exception):
    """The peer speaks Wyoming but is another kind of service (STT, TTS, wake word)."""


@dataclass(frozen=True)
class Services:
    """What every satellite shares with the gateway's own microphone."""

    turns: TurnRunner
    new_listener: Callable[[], Listener]
    """A listener of its own (wake word state and end of speech are per stream)."""
    conversation_announce: Callable[[Origin, Announce], None] | None = None
    """Makes a question's "cancelled" (and other out-of-turn words) reach this satellite."""
    on_turn: Callable[[str, TurnResult], None] | None = None
    """Told every finished turn with the satellite's name (logs, tests, benchmarks)."""


class SatelliteLink:
    """Keeps one satellite connected and answers it, until cancelled."""

    def __init__(self, config: SatelliteConfig, services: Services) -> None:
        self.config = config
        self.services = services
        self.name = config.label
        self.area = config.area
        self.connected = asyncio.Event()
        self.sessions = 0
        """Sessions that got as far as run-satellite (reconnects are sessions - 1)."""
        self.not_a_satellite = False
        self._listener = services.new_listener()
        self._chunks = ChunkReader()
        self._writer: asyncio.StreamWriter | None = None
        self._pipeline: RunPipeline | None = None
        self._hearing = False
        self._turn: asyncio.Task[None] | None = None

    @property
    def origin(self) -> Origin:
        """Its conversation key, its area and what it may ask for."""
        return Origin(f"satellite:{self.name}", sensitive=self.config.sensitive, area=self.area)

    # --- the reconnect loop -------------------------------------------------
    async def run(self) -> None:
        """Connect, serve, reconnect with backoff; returns only for a peer that is no satellite."""
        attempt = 0
        quiet = False  # the same failure again and again is logged once
        while True:
            sessions = self.sessions
            try:
                await self._session()
                reason = "closed the connection"
            except NotASatellite as exc:
                self.not_a_satellite = True
                log.warning("%s is not a satellite (%s); not connecting again", self.name, exc)
                return
            except SatelliteGone as exc:
                reason = str(exc)
            except TimeoutError:
                reason = "no answer"
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
            except Exception as exc:  # noqa: BLE001 - the loop's top: say why, then reconnect
                reason = f"unexpected {type(exc).__name__}: {exc}"
                log.error("satellite %s: %s", self.name, clean(reason, 200))
            if self.sessions > sessions:
                attempt, quiet = 0, False  # it was up: start the backoff again
            delay = backoff_delay(attempt)
            attempt += 1
            line = "satellite %s: %s; reconnecting in %.1f s"
            args = (self.name, clean(reason, 200), delay)
            if quiet:
                log.debug(line, *args)
            else:
                log.warning(line, *args)
            quiet = True
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        async with asyncio.timeout(CONNECT_SECONDS):
            reader, writer = await open_bounded(self.config.host, self.config.port)
        self._writer = writer
        try:
            await self._describe(reader)
            await self._send(RunSatellite().event())
            self.sessions += 1
            self.connected.set()
            log.info("satellite %s connected (area %s)", self.name, self.area or "-")
            while True:
                await self._handle(await self._read(reader))
        finally:
            self.connected.clear()
            self._writer = None
            self._end_pipeline()
            await self._stop_turn()
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _read(self, reader: asyncio.StreamReader) -> Event:
        try:
            event = await async_read_event(reader)
        except EOFError:
            raise SatelliteGone("closed the connection in the middle of an event") from None
        except MALFORMED as exc:
            raise SatelliteGone(f"sent a malformed event ({type(exc).__name__})") from None
        if event is None:
            # The library says None both for the end of the stream and for a line it cannot parse.
            raise SatelliteGone("closed the connection" if reader.at_eof() else "sent garbage")
        return event

    async def _describe(self, reader: asyncio.StreamReader) -> None:
        """Ask what the peer is; take its area (unless configured) and refuse non-satellites."""
        await self._send(Describe().event())
        async with asyncio.timeout(DESCRIBE_SECONDS):
            while True:
                event = await self._read(reader)
                if Info.is_type(event.type):
                    break
        try:
            info = Info.from_event(event)
        except MALFORMED as exc:
            raise SatelliteGone(f"sent a malformed info event ({type(exc).__name__})") from None
        if info.satellite is None:
            raise NotASatellite("it describes itself as another Wyoming service")
        if self.area is None and isinstance(info.satellite.area, str) and info.satellite.area:
            self.area = clean(info.satellite.area, 64)

    # --- events from the satellite --------------------------------------------
    async def _handle(self, event: Event) -> None:
        try:
            if Ping.is_type(event.type):
                await self._send(Pong(text=Ping.from_event(event).text).event())
            elif RunPipeline.is_type(event.type):
                await self._start_pipeline(RunPipeline.from_event(event))
            elif AudioChunk.is_type(event.type):
                if self._hearing:
                    await self._audio(AudioChunk.from_event(event))
            elif AudioStart.is_type(event.type):
                self._chunks.reset()
            elif AudioStop.is_type(event.type):
                if self._hearing:
                    await self._heard(self._listener.finish(time.monotonic()))
            else:
                log.debug("satellite %s: %s ignored", self.name, event.type)
        except MALFORMED as exc:
            kind = clean(str(event.type), 40)
            raise SatelliteGone(f"sent a malformed {kind!r} event ({type(exc).__name__})") from None

    async def _start_pipeline(self, run: RunPipeline) -> None:
        """A new command begins (its wake word fired, or ours is to listen for one)."""
        await self._stop_turn()  # a new wake word on the satellite interrupts the reply
        await self._listen(run)

    async def _listen(self, run: RunPipeline) -> None:
        self._chunks.reset()
        if run.start_stage == PipelineStage.ASR:
            self._listener.expect_command("wake")
        elif run.start_stage == PipelineStage.WAKE:
            self._listener.idle()  # our wake word on its stream
        else:
            await self._send(Error(text="only audio pipelines are served").event())
            return
        self._pipeline = run
        self._hearing = True

    async def _audio(self, chunk: AudioChunk) -> None:
        await self._heard(self._listener.process(self._chunks.frame(chunk), time.monotonic()))

    async def _heard(self, event: WakeHeard | NothingSaid | CommandReady | None) -> None:
        if isinstance(event, WakeHeard):
            wake = self._listener.wake
            await self._send(Detection(name=wake.name if wake is not None else None).event())
        elif isinstance(event, CommandReady):
            self._hearing = False
            await self._send(VoiceStopped().event())
            run = self._pipeline
            assert run is not None
            self._turn = asyncio.create_task(
                self._run_turn(event.utterance, run), name=f"satellite-turn-{self.name}"
            )
        elif isinstance(event, NothingSaid):
            await self._send(Error(text="no speech heard", code=NO_TEXT).event())
            self._end_pipeline()

    def _end_pipeline(self) -> None:
        self._pipeline = None
        self._hearing = False

    # --- the turn and the reply -------------------------------------------------
    async def _run_turn(self, utterance: Utterance, run: RunPipeline) -> None:
        try:
            await self._turn_of(utterance, run)
        except (OSError, SatelliteGone):
            log.debug("satellite %s went away during its reply", self.name)
        except Exception as exc:  # noqa: BLE001 - one turn fails, the satellite stays served
            log.error("satellite %s: the turn failed: %s: %s", self.name, type(exc).__name__, exc)

    async def _turn_of(self, utterance: Utterance, run: RunPipeline) -> None:
        async def heard(text: str) -> None:
            await self._send(Transcript(text=text).event())

        speak = run.end_stage == PipelineStage.TTS
        result = await self.services.turns.from_audio(
            utterance, speak=speak, origin=self.origin, heard=heard
        )
        if self.services.on_turn is not None:
            self.services.on_turn(self.name, result)
        if not result.transcript:
            await self._send(Error(text="nothing was recognised", code=NO_TEXT).event())
        elif speak and result.reply:
            await self._speak(result.reply, result.reply_audio)
        if self._pipeline is run:
            if run.restart_on_end:
                await self._listen(run)  # continuous: the next wake word on its stream
            else:
                self._end_pipeline()

    async def _speak(self, text: str, audio: Samples | None) -> None:
        await self._send(Synthesize(text=text).event())
        if audio is not None:
            for event in reply_events(audio):
                await self._send(event)

    async def announce(self, text: str) -> None:
        """Say something out of turn on this satellite (dropped while it is away)."""
        if self._writer is None:
            return
        audio, _ = await self.services.turns.synthesize(text)
        with contextlib.suppress(OSError, SatelliteGone):
            await self._speak(text, audio)

    async def _stop_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None and not turn.done():
            turn.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await turn

    async def _send(self, event: Event) -> None:
        writer = self._writer
        if writer is None:
            raise SatelliteGone("not connected")
        await async_write_event(event, writer)
