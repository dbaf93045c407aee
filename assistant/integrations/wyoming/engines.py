"""The loaded assistant's engines as Wyoming ``Services``, and the server on them.

One STT engine, one voice and one understanding engine serve every
connection.  Speech goes through a turn runner, whose single STT thread
decodes one utterance at a time (with the home's names or phrases applied
between utterances), so a burst of clients queues rather than
oversubscribing the CPU; its length is bounded by ``max_clients``.

`serve-wyoming` uses the runtime's own turn runner.  `run` gives the server
a fork of the microphone's engine (the same loaded model, a stream of its
own): the microphone's stream holds the utterance being spoken (its audio
is streamed in while it is said), and a Wyoming utterance decoded in
between would be mixed into it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable

from assistant.audio import SAMPLE_RATE, Samples
from assistant.config import Settings
from assistant.errors import UserError
from assistant.integrations.wyoming.handler import Services
from assistant.integrations.wyoming.info import Offer, build_info
from assistant.integrations.wyoming.server import WyomingServer, describe
from assistant.pipeline.messages import Utterance
from assistant.pipeline.runtime import Runtime
from assistant.pipeline.turn import TurnRunner
from assistant.stt import Forkable, PhraseBiased, PhraseRestrictable
from assistant.understanding.calls import IntentCall
from assistant.understanding.engine import Understanding
from assistant.understanding.origin import Origin
from assistant.understanding.outcome import Outcome, step_of


def make_services(settings: Settings, turns: TurnRunner, understanding: Understanding) -> Services:
    """Services backed by `turns` (STT, TTS) and `understanding`."""
    config = settings.wyoming

    async def transcribe(samples: Samples) -> str:
        utterance = Utterance(samples, time.monotonic(), started_by="no-wake")
        text, _ms = await turns.transcribe(utterance)
        return text

    async def understand(text: str, origin: Origin) -> Outcome:
        return await understanding.process(text, origin=origin)

    def recognize(text: str, origin: Origin) -> IntentCall | None:
        # The templates and the gazetteer's frames are Home Assistant's own
        # intents and slot names, so Home Assistant can execute what they
        # recognise (the model's guesses are not offered: nobody would confirm them).
        clean = " ".join(text.split())
        match = understanding.matcher.match(clean, understanding.area)
        if match is not None:
            return step_of(match).call
        found = understanding.gazetteer.understand(
            clean, origin_key=origin.key, context_area=understanding.area
        )
        return found.calls[0] if len(found.calls) == 1 else None

    async def synthesize(text: str) -> Samples | None:
        audio, _ms = await turns.synthesize(text)
        return audio

    stt = turns.stt
    offer = Offer(
        language=settings.stt.language,
        stt_model=f"{stt.name} {stt.model_name}" if stt is not None else None,
        voice=(settings.tts.voice or "espeak-ng") if turns.tts is not None else None,
        intents=config.intents,
    )
    return Services(
        info=build_info(offer),
        transcribe=transcribe,
        understand=understand,
        recognize=recognize,
        synthesize=synthesize,
        intents=config.intents,
        max_samples=int(config.max_audio_seconds * SAMPLE_RATE),
    )


@contextlib.asynccontextmanager
async def serving(
    runtime: Runtime, status: Callable[[str], None], *, own_stt: bool
) -> AsyncIterator[WyomingServer]:
    """The Wyoming server on `runtime`'s engines, until the block ends.

    `own_stt`: the server gets a stream of its own on the STT model (next to
    the microphone's); otherwise the runtime's turn runner serves it.
    """
    assert runtime.turns is not None
    assert runtime.understanding is not None
    settings = runtime.settings
    turns = runtime.turns
    refresh = None
    if own_stt:
        stt = turns.stt
        if not isinstance(stt, Forkable):
            raise UserError("wyoming: the speech-to-text engine cannot serve a second stream")
        turns = TurnRunner(stt.fork(), turns.understand, turns.tts)
    try:
        if own_stt and isinstance(turns.stt, PhraseRestrictable | PhraseBiased):
            refresh = await runtime.follow_home(turns.stt, turns)
        services = make_services(settings, turns, runtime.understanding)
        async with WyomingServer(settings.wyoming, services, settings.site.id) as server:
            status(f"{'wyoming':<14} ready  {describe(server)}")
            yield server
    finally:
        if refresh is not None:
            refresh.close()
        if turns is not runtime.turns:
            turns.close()
