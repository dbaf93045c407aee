"""The loaded assistant's engines as Wyoming ``Services``.

One STT engine, one voice and one understanding engine serve every
connection.  Speech goes through the turn runner, whose single STT thread
decodes one utterance at a time (with the home's names or phrases applied
between utterances), so a burst of clients queues rather than
oversubscribing the CPU; its length is bounded by ``max_clients``.
"""

from __future__ import annotations

import time

from assistant.audio import SAMPLE_RATE, Samples
from assistant.config import Settings
from assistant.integrations.wyoming.handler import Services
from assistant.integrations.wyoming.info import Offer, build_info
from assistant.pipeline.messages import Utterance
from assistant.pipeline.turn import TurnRunner
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

    def recognize(text: str) -> IntentCall | None:
        # The templates are Home Assistant's own intents and slot names, so
        # Home Assistant can execute what they recognise.
        match = understanding.matcher.match(" ".join(text.split()), understanding.area)
        return step_of(match).call if match is not None else None

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
