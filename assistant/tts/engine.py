"""Speech output: espeak-ng -> 16 kHz int16 samples.

The espeak-ng program is run once per reply, writing a WAV that is read and
resampled.  pyttsx3 (on the same libespeak-ng) was the first choice, but its
espeak driver applies property changes nondeterministically: in a run of
eight save_to_file/runAndWait calls alternating rate 100/300, the fourth kept
the previous rate (libespeak-ng runs its command queue on its own thread and
pyttsx3 does not wait for it).  A subprocess has no shared state, needs no
lock and cannot print into our stdout.  pyttsx3 remains the fallback when the
espeak-ng program is missing but the library is present, and it lists the
voices.

A TTS failure is logged in one line and returns None / False: a reply that
cannot be spoken must never stop the assistant.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
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

# pyttsx3 drives process-wide libespeak-ng state: one caller at a time.
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


def _voices_from_binary(espeak: str) -> set[str]:
    names: set[str] = set()
    for spec, prefix in (("--voices", ""), ("--voices=variant", "+")):
        listing = subprocess.run(
            [espeak, spec], capture_output=True, text=True, check=True, timeout=30
        ).stdout.splitlines()[1:]
        for line in listing:
            # Pty Language Age/Gender VoiceName File (Other Languages)...
            fields = line.split()
            if len(fields) < 5:
                continue
            language, name, file = fields[1], fields[3], fields[4]
            tail = file.rsplit("/", 1)[-1]
            if prefix:
                names.add(prefix + tail.lower())
                continue
            names.update({language, file, tail, name, name.replace("_", " ")})
            names.update(re.findall(r"\(([^\s()]+) \d+\)", line))
    return {name.lower() for name in names}


def _voices_from_pyttsx3() -> set[str]:
    from pyttsx3.drivers import _espeak

    _engine()  # espeak must be initialised before it lists anything
    names: set[str] = set()
    for voice in _espeak.ListVoices(None):
        identifier = voice.identifier.decode("utf-8", "replace").lower()
        names.update({identifier, identifier.rsplit("/", 1)[-1]})
        names.add(voice.name.decode("utf-8", "replace").lower())
        # languages: a priority byte, then the language name.
        if voice.languages[1:]:
            names.add(voice.languages[1:].decode("utf-8", "replace").lower())
    spec = _espeak.VOICE()
    spec.languages = b"variant"
    for variant in _espeak.ListVoices(spec):
        identifier = variant.identifier.decode("utf-8", "replace").lower()
        names.add("+" + identifier.rsplit("/", 1)[-1])
    return names


@functools.cache
def known_voices() -> frozenset[str]:
    """Every name espeak-ng accepts for a voice, and '+name' for each variant, lower-cased."""
    espeak = shutil.which("espeak-ng")
    return frozenset(_voices_from_binary(espeak) if espeak else _voices_from_pyttsx3())


def check_voice(voice: str) -> None:
    """Raise VoiceNotFoundError unless `voice` (e.g. 'en-us', 'en+f3') exists.

    espeak-ng itself silently falls back to its default voice for an unknown
    name, so a typo would go unnoticed without this check.
    """
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
        if shutil.which("espeak-ng"):
            _with_binary(text, config, out)
        else:
            log.debug("espeak-ng program not found; using pyttsx3")
            with _LOCK:
                _with_pyttsx3(text, config, out)
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
