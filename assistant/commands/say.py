"""`assistant say TEXT [--out FILE]`: speak text on the speaker or into a WAV file."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from assistant.audio.sinks import SpeakerSink, WavSink
from assistant.config import Settings
from assistant.errors import UserError
from assistant.tts import VoiceNotFoundError, check_voice, synthesize


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `say`."""
    parser = sub.add_parser("say", help="speak text (speaker or WAV file)", parents=[common])
    parser.add_argument("text", nargs="+", help="what to say")
    parser.add_argument("--out", type=Path, help="write a 16 kHz WAV file instead of playing")
    parser.set_defaults(func=_say)


def _say(args: argparse.Namespace, settings: Settings) -> int:
    text = " ".join(args.text)
    if settings.tts.voice:
        try:
            check_voice(settings.tts.voice)
        except VoiceNotFoundError as exc:
            raise UserError(f"[tts] voice: {exc}") from None
    # Open the sink first: no speaker means a clear message before any work.
    if args.out is None:
        sink: SpeakerSink | WavSink = SpeakerSink(settings.audio.output_device)
    samples = synthesize(text, settings.tts)
    if samples is None:
        raise UserError("speech synthesis failed (see the log line above)")
    if args.out is not None:
        sink = WavSink(args.out)
        sink.write(samples)
        sink.close()
        return 0
    asyncio.run(sink.play(samples))
    return 0
