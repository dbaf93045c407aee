"""The reply voice: the project's TTS (pyttsx3 on espeak-ng) behind the
pipeline's ``Synthesizer`` protocol."""

from __future__ import annotations

from assistant.audio import Samples
from assistant.config import Settings, TtsConfig
from assistant.tts import synthesize


class TtsSynthesizer:
    """Text -> 16 kHz mono int16 with the configured voice."""

    def __init__(self, config: TtsConfig) -> None:
        self.config = config

    def synthesize(self, text: str) -> Samples:
        """The spoken text; RuntimeError when synthesis failed (already logged)."""
        audio = synthesize(text, self.config)
        if audio is None:
            raise RuntimeError("speech synthesis failed")
        return audio


def create_synthesizer(settings: Settings) -> TtsSynthesizer:
    """The configured voice."""
    return TtsSynthesizer(settings.tts)
