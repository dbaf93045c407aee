"""Frames -> (wake word) -> end of speech -> utterances.

The ``listen`` / ``transcribe`` commands and the pipeline share this: a
``Segmenter`` is pushed frames and returns events; ``iter_utterances`` runs
it over any frame iterator (a WAV file, stdin) and ``aiter_events`` over an
async source (the microphone).  Memory is bounded by one utterance
(``[vad] max_utterance_seconds``) plus a short pre-roll, however long the
input is.

While waiting for the wake word the VAD does not run, which keeps idle
listening cheap.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.audio import SAMPLE_RATE, Samples
from assistant.audio.frames import frame_samples, reframe
from assistant.audio.wav import iter_wav
from assistant.config import Settings
from assistant.vad import (
    EndOfSpeech,
    EndpointEvent,
    EndpointSettings,
    SpeechTimeout,
    UtteranceEnded,
    create_engine,
)
from assistant.wake import WakeDetector, create_detector


@dataclass(frozen=True)
class WakeDetected:
    """The wake word ended at `at_seconds` of the stream."""

    at_seconds: float
    name: str


SegmentEvent = WakeDetected | EndpointEvent


class Segmenter:
    """Push frames; get wake, speech-start, utterance and timeout events.

    With a wake detector: wait for the wake word, then one utterance (or a
    timeout), then wait again.  Without one: every utterance in the stream.
    """

    def __init__(self, endpoint: EndOfSpeech, wake: WakeDetector | None = None) -> None:
        self.endpoint = endpoint
        self.wake = wake
        self.position = 0
        """Samples fed: the stream clock."""
        self._awake = wake is None

    @property
    def awake(self) -> bool:
        """True while listening for an utterance (always, without a wake word)."""
        return self._awake

    def process(self, frame: Samples) -> list[SegmentEvent]:
        """Feed one frame; return what happened in it."""
        self.position += frame.size
        if not self._awake and self.wake is not None:
            if self.wake.process(frame):
                self._awake = True
                # The endpoint did not see the wake audio: move its clock on.
                self.endpoint.reset(arm_timeout=True, position=self.position)
                return [WakeDetected(self.position / SAMPLE_RATE, self.wake.name)]
            return []
        events: list[SegmentEvent] = list(self.endpoint.process(frame))
        if self.wake is not None and any(
            isinstance(e, UtteranceEnded | SpeechTimeout) for e in events
        ):
            self._awake = False
            self.wake.reset()
        return events

    def finish(self) -> list[SegmentEvent]:
        """End of input: close the utterance in progress."""
        return list(self.endpoint.finish()) if self._awake else []


def create_segmenter(settings: Settings, use_wake: bool | None = None) -> Segmenter:
    """A segmenter from config; `use_wake` overrides `[wake] enabled`.

    Without a wake word there is no start timeout: the stream is simply
    cut into every utterance it holds.
    """
    wake_on = settings.wake.enabled if use_wake is None else use_wake
    endpoint = EndOfSpeech(
        create_engine(settings.vad.engine),
        EndpointSettings.from_config(settings.vad, with_timeout=wake_on),
    )
    wake = create_detector(settings.wake.model_copy(update={"enabled": True})) if wake_on else None
    return Segmenter(endpoint, wake)


def iter_events(frames: Iterable[Samples], segmenter: Segmenter) -> Iterator[SegmentEvent]:
    """Every event of a finite frame stream, the end of input included."""
    for frame in frames:
        yield from segmenter.process(frame)
    yield from segmenter.finish()


def iter_utterances(frames: Iterable[Samples], segmenter: Segmenter) -> Iterator[UtteranceEnded]:
    """The utterances of a finite frame stream, in order, one at a time."""
    for event in iter_events(frames, segmenter):
        if isinstance(event, UtteranceEnded):
            yield event


async def aiter_events(
    frames: AsyncIterable[Samples], segmenter: Segmenter
) -> AsyncIterator[SegmentEvent]:
    """Events of an async frame source (the microphone), the end of input included."""
    async for frame in frames:
        for event in segmenter.process(frame):
            yield event
    for event in segmenter.finish():
        yield event


def segment_wav(
    path: Path, settings: Settings, use_wake: bool | None = False
) -> Iterator[UtteranceEnded]:
    """Utterances of a WAV file (any rate/channels), in bounded memory.

    The wake word is off by default for files; UserError for a bad file
    (raised before the first utterance).
    """
    blocks = iter_wav(path)
    first = next(blocks, None)  # header problems surface here, not mid-way
    if first is None:
        return iter(())

    def all_blocks() -> Iterator[Samples]:
        yield first
        yield from blocks

    segmenter = create_segmenter(settings, use_wake)
    return iter_utterances(reframe(all_blocks(), frame_samples(settings.audio.block_ms)), segmenter)
