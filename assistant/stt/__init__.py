"""Speech recognition: one engine contract, Vosk and faster-whisper behind it."""

from assistant.stt.base import PhraseBiased, PhraseRestrictable, SttEngine, Transcript
from assistant.stt.factory import create_engine, resolve_model

__all__ = [
    "PhraseBiased",
    "PhraseRestrictable",
    "SttEngine",
    "Transcript",
    "create_engine",
    "resolve_model",
]
