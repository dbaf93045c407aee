"""The `info` answer to `describe`: what this server offers Home Assistant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    IntentModel,
    IntentProgram,
    TtsProgram,
    TtsVoice,
)

from assistant import __version__

ATTRIBUTION = Attribution(name="assistant", url="https://github.com/")
"""Who made the programs (the project; models carry their own names)."""


class _Common(TypedDict):
    attribution: Attribution
    installed: bool
    version: str | None


class _Named(TypedDict):
    name: str
    description: str


@dataclass(frozen=True)
class Offer:
    """What the loaded assistant can do for a Wyoming client."""

    language: str
    stt_model: str | None
    """The STT model's name; None: no speech-to-text."""
    voice: str | None
    """The TTS voice; None: no text-to-speech."""
    intents: str
    """"handle" (act and reply) or "recognize" (name the intent for Home Assistant)."""


def build_info(offer: Offer) -> Info:
    """The Info event's content for `offer`."""
    languages = [offer.language]
    common = _Common(attribution=ATTRIBUTION, installed=True, version=__version__)
    info = Info()
    if offer.stt_model is not None:
        stt = AsrModel(
            name=offer.stt_model, description=offer.stt_model, languages=languages, **common
        )
        info.asr = [
            AsrProgram(name="assistant-stt", description="speech-to-text", models=[stt], **common)
        ]
    if offer.voice is not None:
        voice = TtsVoice(name=offer.voice, description=offer.voice, languages=languages, **common)
        info.tts = [
            TtsProgram(name="assistant-tts", description="text-to-speech", voices=[voice], **common)
        ]
    intents_model = _Named(name="assistant-intents", description="the home's intents")
    if offer.intents == "handle":
        handle = HandleModel(languages=languages, **intents_model, **common)
        info.handle = [
            HandleProgram(
                name="assistant",
                description="conversation agent that controls the home",
                models=[handle],
                supports_home_control=True,
                **common,
            )
        ]
    else:
        intent = IntentModel(languages=languages, **intents_model, **common)
        info.intent = [
            IntentProgram(
                name="assistant", description="intent recognition", models=[intent], **common
            )
        ]
    return info
