"""Speech output: pyttsx3 on espeak-ng -> 16 kHz int16 samples.

pyttsx3's espeak driver keeps process-wide state in libespeak-ng, so every
synthesis goes through one lock; ``save_to_file`` + ``runAndWait`` proved
reliable from worker threads (tests/test_tts.py runs it from threads).
When pyttsx3 cannot start at all (no libespeak-ng) the espeak-ng binary is
run directly instead.

A TTS failure is logged in one line and returns None / False: a reply that
cannot be spoken must never stop the assistant.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from assistant.audio import Samples
from assistant.audio.sinks import AudioSink
from assistant.audio.wav import read_wav
from assistant.config import TtsConfig
from assistant.errors import UserError

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
# What pyttsx3 and espeak can raise for a bad voice, a missing library or a
# failed write; all of them mean "no speech this time", never a crash.
_TTS_ERRORS = (
    RuntimeError,
    OSError,
    ValueError,
    KeyError,
    ImportError,
    AttributeError,
    subprocess.SubprocessError,
    UserError,
)


class VoiceNotFoundError(ValueError):
    """The configured voice is not an espeak-ng voice."""


@functools.cache
def _engine() -> Any:
    import pyttsx3
    import pyttsx3.drivers.espeak as espeak_driver

    # The driver print()s "Audio saved to ..." on stdout, which would corrupt
    # `--json` output; shadowing print in that module alone is thread-safe,
    # unlike swapping sys.stdout.
    espeak_driver.print = lambda *args, **kwargs: None
    engine = pyttsx3.init("espeak")
    engine.default_voice = engine.getProperty("voice")
    return engine


@functools.cache
def known_voices() -> frozenset[str]:
    """Every name espeak-ng accepts for a voice or a +variant, lower-cased."""
    from pyttsx3.drivers import _espeak

    names: set[str] = set()
    for voice in _espeak.ListVoices(None):
        identifier = voice.identifier.decode("utf-8", "replace").lower()
        names.update({identifier, identifier.rsplit("/", 1)[-1]})
        names.add(voice.name.decode("utf-8", "replace").lower())
        # languages: a priority byte then the language name, NUL-separated.
        for entry in voice.languages.split(b"\0"):
            if entry[1:]:
                names.add(entry[1:].decode("utf-8", "replace").lower())
    spec = _espeak.VOICE()
    spec.languages = b"variant"
    for variant in _espeak.ListVoices(spec):
        identifier = variant.identifier.decode("utf-8", "replace").lower()
        names.add("+" + identifier.rsplit("/", 1)[-1])
    return frozenset(names)


def check_voice(voice: str) -> None:
    """Raise VoiceNotFoundError unless `voice` (e.g. 'en-us', 'en+f3') exists."""
    base, _, variant = voice.lower().partition("+")
    names = known_voices()
    if base not in names:
        raise VoiceNotFoundError(f"unknown espeak-ng voice {voice!r} (see espeak-ng --voices)")
    if variant and f"+{variant}" not in names:
        raise VoiceNotFoundError(f"unknown espeak-ng voice variant {variant!r} in {voice!r}")


def _with_pyttsx3(text: str, config: TtsConfig, out: Path) -> None:
    engine = _engine()
    engine.setProperty("voice", config.voice or engine.default_voice)
    engine.setProperty("rate", config.rate)
    engine.setProperty("volume", config.volume)
    engine.save_to_file(text, str(out))
    engine.runAndWait()


def _with_binary(text: str, config: TtsConfig, out: Path) -> None:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise OSError("espeak-ng is not installed")
    argv = [espeak, "-s", str(config.rate), "-a", str(round(config.volume * 100)), "-w", str(out)]
    if config.voice:
        argv += ["-v", config.voice]
    subprocess.run([*argv, "--", text], check=True, capture_output=True, timeout=60)


def _synthesize(text: str, config: TtsConfig) -> Samples:
    if config.voice:
        check_voice(config.voice)
    with tempfile.TemporaryDirectory(prefix="assistant-tts-") as tmp:
        out = Path(tmp) / "speech.wav"
        with _LOCK:
            try:
                _with_pyttsx3(text, config, out)
            except (ImportError, OSError) as exc:
                log.debug("pyttsx3 unavailable (%s); running espeak-ng directly", exc)
                _with_binary(text, config, out)
        if not out.is_file():
            raise RuntimeError("espeak-ng produced no audio")
        return read_wav(out)


def synthesize(text: str, config: TtsConfig | None = None) -> Samples | None:
    """Speech for `text` as 16 kHz mono int16, or None (logged) when it fails."""
    config = config or TtsConfig()
    if not text.strip():
        return None
    try:
        return _synthesize(text, config)
    except _TTS_ERRORS as exc:
        log.error("speech output failed for %r: %s", text[:60], exc)
        return None


async def speak(text: str, sink: AudioSink, config: TtsConfig | None = None) -> bool:
    """Synthesize in a worker thread and play to `sink`; False (logged) on failure."""
    samples = await asyncio.to_thread(synthesize, text, config)
    if samples is None:
        return False
    try:
        await sink.play(samples)
    except _TTS_ERRORS as exc:
        log.error("cannot play speech on %s: %s", sink.name, exc)
        return False
    return True
