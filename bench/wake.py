"""CPU cost of idle listening: the wake word detector alone on a minute of audio.

    .venv/bin/python bench/wake.py

Prints CPU seconds per second of audio (share of one core) for each bundled
model, on white noise at -50 dBFS with espeak-ng speech mixed in.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.audio.frames import reframe
from assistant.audio.wav import read_wav
from assistant.wake import MODELS, WakeWordDetector

SECONDS = 60


def main() -> None:
    rng = np.random.default_rng(3)
    audio = rng.normal(0, 32768 * 10 ** (-50 / 20), SECONDS * SAMPLE_RATE)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.wav"
        espeak = shutil.which("espeak-ng") or "espeak-ng"
        subprocess.run(
            [espeak, "-w", str(out), "turn on the kitchen light and close the blinds"], check=True
        )
        talk = read_wav(out).astype(np.float64)
    for start in range(0, audio.size - talk.size, 10 * SAMPLE_RATE):
        audio[start : start + talk.size] += talk
    samples = np.clip(audio, -32768, 32767).astype(np.int16)
    frames = list(reframe([samples], 480))
    for model in MODELS:
        detector = WakeWordDetector(model)
        began = time.process_time()
        hits = sum(detector.process(frame) for frame in frames)
        cpu = time.process_time() - began
        print(f"{model:12} {100 * cpu / SECONDS:5.2f}% of one core, {hits} false wakes")


if __name__ == "__main__":
    main()
