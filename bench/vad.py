"""Measure the three VAD engines on espeak-ng speech padded with silence.

For each engine: how far the detected speech start/end is from the true
one (taken from the clean signal's 10 ms energy), missed and extra
utterances, and CPU seconds per second of audio.  The speech is mixed with
white noise at a quiet-room and a noisy-room level.

    .venv/bin/python bench/vad.py
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.audio import SAMPLE_RATE, Samples
from assistant.audio.frames import reframe
from assistant.audio.wav import read_wav
from assistant.vad import (
    EndOfSpeech,
    EndpointSettings,
    SpeechStarted,
    UtteranceEnded,
    create_engine,
)

SENTENCES = [
    "turn on the kitchen light",
    "set the living room temperature to twenty one degrees",
    "what is the weather like today",
    "close the garage door",
    "dim the bedroom lights to thirty percent",
    "start the vacuum",
    "lock the front door please",
    "is the back door open",
]
VOICES = ["en-us", "en", "en+f3", "en-gb-x-rp"]
NOISE_DBFS = {"quiet": -60.0, "noisy": -40.0}
LEAD, TRAIL = 1.0, 2.0


def speech(text: str, voice: str, workdir: Path) -> Samples:
    """espeak-ng audio at 16 kHz."""
    out = workdir / "s.wav"
    espeak = shutil.which("espeak-ng") or "espeak-ng"
    subprocess.run([espeak, "-v", voice, "-w", str(out), text], check=True)
    return read_wav(out)


def true_bounds(clean: Samples) -> tuple[float, float]:
    """First and last 10 ms window louder than -40 dBFS."""
    win = SAMPLE_RATE // 100
    usable = clean[: clean.size - clean.size % win].astype(np.float64).reshape(-1, win)
    rms = np.sqrt(np.mean(usable**2, axis=1)) / 32768.0
    loud = np.nonzero(rms > 10 ** (-40 / 20))[0]
    return loud[0] * win / SAMPLE_RATE, (loud[-1] + 1) * win / SAMPLE_RATE


def main() -> None:
    rng = np.random.default_rng(7)
    cases: list[tuple[str, Samples, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for text in SENTENCES:
            for voice in VOICES:
                clean = speech(text, voice, Path(tmp))
                padded = np.concatenate(
                    [
                        np.zeros(int(LEAD * SAMPLE_RATE), np.int16),
                        clean,
                        np.zeros(int(TRAIL * SAMPLE_RATE), np.int16),
                    ]
                )
                start, end = true_bounds(padded)
                for level, dbfs in NOISE_DBFS.items():
                    noise = rng.normal(0, 32768 * 10 ** (dbfs / 20), padded.size)
                    mixed = np.clip(padded + noise, -32768, 32767).astype(np.int16)
                    cases.append((level, mixed, start, end))
    audio_seconds = sum(c[1].size for c in cases) / SAMPLE_RATE / len(NOISE_DBFS)
    print(f"{len(cases)} cases, {audio_seconds:.0f} s of audio per noise level")
    print(
        f"{'engine':8} {'noise':6} {'end err med':>11} {'p95':>6} {'start err':>9} "
        f"{'missed':>6} {'extra':>5} {'cpu/s audio':>11}"
    )
    for engine_name in ("silero", "webrtc", "micro"):
        for level in NOISE_DBFS:
            end_err: list[float] = []
            start_err: list[float] = []
            missed = extra = 0
            cpu = 0.0
            seconds = 0.0
            for case_level, audio, start, end in cases:
                if case_level != level:
                    continue
                eos = EndOfSpeech(create_engine(engine_name), EndpointSettings())
                began = time.process_time()
                found: list[UtteranceEnded] = []
                starts: list[SpeechStarted] = []
                for frame in reframe([audio], 480):
                    events = eos.process(frame)
                    found += [e for e in events if isinstance(e, UtteranceEnded)]
                    starts += [e for e in events if isinstance(e, SpeechStarted)]
                found += [e for e in eos.finish() if isinstance(e, UtteranceEnded)]
                cpu += time.process_time() - began
                seconds += audio.size / SAMPLE_RATE
                if not found:
                    missed += 1
                    continue
                extra += len(found) - 1
                end_err.append(found[-1].speech_end_seconds - end)
                start_err.append(starts[0].at_seconds - start)
            abs_end = sorted(abs(e) for e in end_err)
            p95 = abs_end[int(0.95 * (len(abs_end) - 1))] if abs_end else float("nan")
            print(
                f"{engine_name:8} {level:6} {statistics.median(end_err):+11.3f} {p95:6.3f} "
                f"{statistics.median(start_err):+9.3f} {missed:6d} {extra:5d} "
                f"{100 * cpu / seconds:10.2f}%"
            )


if __name__ == "__main__":
    main()
