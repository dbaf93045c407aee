"""One Wyoming connection: describe, transcribe, synthesize, and sentences to act on.

The engines are shared by every connection (``Services``); each connection
keeps only its own audio, bounded by ``max_samples``.  A client that sends
an event we cannot read gets one log line and an ``error`` event, and the
connection carries on: a hostile peer never stops the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.intent import Entity, Intent, NotRecognized, Recognize
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize

from assistant.audio import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH, Samples
from assistant.textsafe import TEXT_LIMIT, clean, unicode_safe
from assistant.understanding.calls import IntentCall
from assistant.understanding.origin import Origin
from assistant.understanding.outcome import Outcome, jsonable

log = logging.getLogger(__name__)

CHUNK_SAMPLES = 1024
"""Samples per audio-chunk event of synthesized speech (64 ms)."""


@dataclass(frozen=True)
class Services:
    """The assistant's engines, shared by every connection."""

    info: Info
    transcribe: Callable[[Samples], Awaitable[str]]
    """16 kHz mono int16 audio -> text (serialized on the one STT engine)."""
    understand: Callable[[str, Origin], Awaitable[Outcome]]
    """Act on a sentence and say what happened (`intents = "handle"`)."""
    recognize: Callable[[str, Origin], IntentCall | None]
    """The intent a sentence names, without acting (`intents = "recognize"`)."""
    synthesize: Callable[[str], Awaitable[Samples | None]]
    """Reply text -> 16 kHz mono int16 speech (None: TTS off or failed)."""
    intents: str
    """"handle" or "recognize"."""
    max_samples: int
    """The longest utterance a connection may send (more is dropped)."""


def _text(value: object) -> str:
    """A client's text, capped (a hostile one could send megabytes to speak)."""
    if not isinstance(value, str):
        raise TypeError(f"text is {type(value).__name__}, not a string")
    return unicode_safe(value.strip(), TEXT_LIMIT)


class WyomingHandler(AsyncEventHandler):
    """Answers the events of one client connection."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        services: Services,
        peer: str,
        idle_seconds: float,
    ) -> None:
        super().__init__(reader, writer)
        self.services = services
        self.peer = peer
        # Conversations (a "yes" to "Are you sure?") are per client host; a
        # LAN peer may never ask for sensitive actions (unlock, open).
        self.origin = Origin(f"wyoming:{peer}", sensitive=False)
        self._converter = AudioChunkConverter(
            rate=SAMPLE_RATE, width=SAMPLE_WIDTH, channels=CHANNELS
        )
        self._transcribing = False
        self._audio = bytearray()
        self._dropped = False
        self.idle_seconds = idle_seconds
        self.idle: asyncio.Timeout | None = None
        """The server's deadline for this connection: off while an event is answered."""

    def _rearm(self, seconds: float | None) -> None:
        if self.idle is not None:
            loop = asyncio.get_running_loop()
            self.idle.reschedule(None if seconds is None else loop.time() + seconds)

    async def handle_event(self, event: Event) -> bool:
        """Answer one event; False would close the connection (never: bad input is logged)."""
        self._rearm(None)  # a decode waiting for the STT engine is not idleness
        try:
            await self._dispatch(event)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            # Malformed data of a known type: the event is dropped, the client told.
            log.warning(
                "wyoming %s: ignored a malformed %r event (%s: %s)",
                self.peer,
                clean(event.type, 40),
                type(exc).__name__,
                clean(str(exc), 120),
            )
            await self.write_event(Error(text="malformed event", code="malformed").event())
        except Exception as exc:  # noqa: BLE001 - one client's failure is not the server's
            log.error(
                "wyoming %s: %r failed: %s: %s",
                self.peer,
                clean(event.type, 40),
                type(exc).__name__,
                clean(str(exc), 120),
            )
            await self.write_event(Error(text="failed", code="failed").event())
        finally:
            self._rearm(self.idle_seconds)
        return True

    async def disconnect(self) -> None:
        """The connection ended; one line when it ended on an unreadable event."""
        task = asyncio.current_task()
        if not self.reader.at_eof() and not (task is not None and task.cancelling()):
            # The wyoming reader gives up (and the connection ends) on a line
            # that is not JSON, too long, or a wrong data length.
            log.warning("wyoming %s: unreadable event; connection closed", self.peer)

    async def _dispatch(self, event: Event) -> None:
        if Describe.is_type(event.type):
            await self.write_event(self.services.info.event())
        elif Ping.is_type(event.type):
            await self.write_event(Pong(text=Ping.from_event(event).text).event())
        elif Transcribe.is_type(event.type):
            self._transcribing = True
            self._start_audio()
        elif AudioStart.is_type(event.type):
            self._start_audio()
        elif AudioChunk.is_type(event.type):
            self._add_audio(AudioChunk.from_event(event))
        elif AudioStop.is_type(event.type):
            await self._finish_audio()
        elif Synthesize.is_type(event.type):
            await self._synthesize(_text(Synthesize.from_event(event).text))
        elif Transcript.is_type(event.type) or Recognize.is_type(event.type):
            text = _text(event.data["text"])
            if self.services.intents == "handle":
                await self._handle(text)
            else:
                await self._recognize(text)
        else:
            log.debug("wyoming %s: %r events are not served", self.peer, clean(event.type, 40))

    # --- speech-to-text ------------------------------------------------------
    def _start_audio(self) -> None:
        self._audio = bytearray()
        self._dropped = False

    def _add_audio(self, chunk: AudioChunk) -> None:
        if not self._transcribing:
            return  # audio nobody asked to transcribe
        converted = self._converter.convert(chunk)
        room = self.services.max_samples * SAMPLE_WIDTH - len(self._audio)
        if len(converted.audio) > room and not self._dropped:
            self._dropped = True
            log.warning("wyoming %s: utterance too long; the rest is dropped", self.peer)
        self._audio += converted.audio[: max(room, 0)]

    async def _finish_audio(self) -> None:
        if not self._transcribing:
            return
        self._transcribing = False
        usable = len(self._audio) - len(self._audio) % SAMPLE_WIDTH
        samples = np.frombuffer(bytes(self._audio[:usable]), dtype="<i2").astype(np.int16)
        self._audio = bytearray()
        text = await self.services.transcribe(samples)
        await self.write_event(Transcript(text=text).event())

    # --- text-to-speech ------------------------------------------------------
    async def _synthesize(self, text: str) -> None:
        audio = await self.services.synthesize(text)
        if audio is None:
            await self.write_event(Error(text="speech synthesis failed", code="tts").event())
            return
        await self.write_event(
            AudioStart(rate=SAMPLE_RATE, width=SAMPLE_WIDTH, channels=CHANNELS).event()
        )
        data = audio.astype("<i2").tobytes()
        step = CHUNK_SAMPLES * SAMPLE_WIDTH
        for offset in range(0, len(data), step):
            chunk = AudioChunk(
                rate=SAMPLE_RATE,
                width=SAMPLE_WIDTH,
                channels=CHANNELS,
                audio=data[offset : offset + step],
            )
            await self.write_event(chunk.event())
        await self.write_event(AudioStop().event())

    # --- sentences -----------------------------------------------------------
    async def _handle(self, text: str) -> None:
        outcome = await self.services.understand(text, self.origin)
        if outcome.handled_by is None:
            await self.write_event(NotHandled(text=outcome.reply).event())
        else:
            await self.write_event(Handled(text=outcome.reply).event())

    async def _recognize(self, text: str) -> None:
        call = self.services.recognize(text, self.origin)
        if call is None:
            await self.write_event(NotRecognized(text=text).event())
            return
        entities = [Entity(name=k, value=v) for k, v in jsonable(call.slots).items()]
        await self.write_event(Intent(name=call.intent, entities=entities, text=text).event())
