"""Speech recognition: one engine contract, Vosk and faster-whisper behind it."""

from assistant.stt.base import Forkable, PhraseBiased, PhraseRestrictable, SttEngine, Transcript
from assistant.stt.factory import create_engine, resolve_model
from assistant.stt.two_pass import TwoPassEngine

__all__ = [
    "Forkable",
    "PhraseBiased",
    "PhraseRestrictable",
    "SttEngine",
    "Transcript",
    "TwoPassEngine",
    "create_engine",
    "resolve_model",
]
