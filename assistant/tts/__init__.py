"""Speech output (pyttsx3 on espeak-ng) and short generated sounds."""

from assistant.tts.earcon import wake_chime
from assistant.tts.engine import VoiceNotFoundError, check_voice, speak, synthesize

__all__ = ["VoiceNotFoundError", "check_voice", "speak", "synthesize", "wake_chime"]
