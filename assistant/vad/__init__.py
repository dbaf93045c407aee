"""End-of-speech detection: VAD engines and the utterance state machine."""

from assistant.vad.endpoint import (
    PRESET_SILENCE_SECONDS,
    EndOfSpeech,
    EndpointEvent,
    EndpointSettings,
    SpeechStarted,
    SpeechTimeout,
    UtteranceEnded,
)
from assistant.vad.engines import VadEngine, create_engine

__all__ = [
    "PRESET_SILENCE_SECONDS",
    "EndOfSpeech",
    "EndpointEvent",
    "EndpointSettings",
    "SpeechStarted",
    "SpeechTimeout",
    "UtteranceEnded",
    "VadEngine",
    "create_engine",
]
