"""Speech recognition benchmark: speed, latency, idle CPU, memory and start-up.

    .venv/bin/python bench/stt.py [results.json] [--bias HOME] [--beam N] [--window S]

``--bias example`` gives Whisper the names of the example home (as `run` gives
it the live devices' names); ``--beam`` overrides ``[stt] beam_size``,
``--window`` ``[stt] window_seconds``.  Run it
again with ``CT2_FORCE_CPU_ISA=AVX2`` to see another machine's numerics.

Each measurement runs in its own Python process so that its peak RSS and CPU
time are its own:

- whisper / vosk-ko: real-time factor (decode time / audio time) over an
  espeak-ng set, per-utterance latency from the end of the audio to the final
  text (median, p95), word error rate (overall and per voice), peak RSS.  The
  English set is spoken by its own voices and again by ``EXTRA_VOICES``.  Frames arrive in 100 ms
  blocks as from a microphone; for Vosk the end-of-audio latency is the last
  block plus ``finish()``, since streaming already decoded the rest.
- wake-idle: the wake-word detector alone, fed real-time-paced low noise in
  30 ms blocks for 10 s: process CPU time / wall time.
- ready: wall time from process start to "models loaded" (wake word, VAD and
  the configured STT engine), models already cached.

No pass/fail: the numbers go on stdout as a table and into the JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EN_COMMANDS = [
    ("turn on the kitchen light", "en-us", 160),
    ("turn off the living room lights", "en-gb", 150),
    ("lock the front door", "en-us", 180),
    ("open the garage door", "en", 140),
    ("close the bedroom blinds", "en-gb", 170),
    ("set the thermostat to twenty one degrees", "en-us", 150),
    ("dim the bedroom lights to fifty percent", "en-us", 140),
    ("what is the temperature in the bathroom", "en-gb", 160),
    ("start the vacuum cleaner", "en", 170),
    ("turn on the fan in the office", "en-us", 200),
    ("set a timer for ten minutes", "en-gb", 150),
    ("switch off the coffee machine", "en-us", 130),
    ("is the back door locked", "en", 160),
    ("turn the hallway light blue", "en-us", 170),
    ("open the curtains in the living room", "en-gb", 140),
    ("play some music in the kitchen", "en-us", 190),
    ("stop the music", "en", 150),
    ("turn off all the lights", "en-us", 160),
    ("set the heating to nineteen degrees", "en-gb", 130),
    ("close the garage door", "en-us", 200),
]
EXTRA_VOICES = [("en-us+m3", 160), ("en-gb-x-rp", 150)]
"""Each English command again in these voices (WER varies more by voice than by option)."""
KO_COMMANDS = [
    "불 켜",
    "불 꺼",
    "문 열어",
    "음악 틀어",
    "거실 불 켜 줘",
    "안방 불 꺼 줘",
    "에어컨 켜 줘",
    "오늘 날씨 어때",
    "온도 올려 줘",
    "텔레비전 꺼 줘",
]
_NUMBERS = {
    "19": "nineteen",
    "21": "twenty one",
    "50": "fifty",
    "10": "ten",
}


def _words(text: str) -> list[str]:
    text = text.lower().replace("%", " percent").replace("-", " ")
    for digits, words in _NUMBERS.items():
        text = text.replace(digits, words)
    return re.sub(r"[^a-z0-9' ]+", " ", text).replace("'", "").split()


def _distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --- parts, each run in a child process -------------------------------------


def _english() -> list[tuple[str, str, int]]:
    """(text, voice, speed) of every English recording."""
    extra = [(text, voice, speed) for voice, speed in EXTRA_VOICES for text, _, _ in EN_COMMANDS]
    return [*EN_COMMANDS, *extra]


def part_engine(
    kind: str, wavdir: Path, bias: str | None, beam: int | None, window: float | None
) -> dict[str, Any]:
    """Decode the espeak set with one engine; latency from end of audio to text."""
    from assistant.audio.wav import read_wav
    from assistant.commands.transcribe import home_names
    from assistant.config import Settings
    from assistant.stt import PhraseBiased, create_engine

    language = "ko" if kind == "vosk" else "en"
    stt: dict[str, Any] = {"engine": kind, "language": language}
    if beam is not None:
        stt["beam_size"] = beam
    if window is not None and kind == "whisper":
        stt["window_seconds"] = window
    settings = Settings.model_validate({"stt": stt})
    t0 = time.perf_counter()
    engine = create_engine(settings)
    load_s = time.perf_counter() - t0
    if bias is not None and isinstance(engine, PhraseBiased):
        engine.set_bias(home_names(bias))
    english = _english()
    texts = KO_COMMANDS if kind == "vosk" else [c[0] for c in english]
    latencies, decode_total, audio_total, errors, words = [], 0.0, 0.0, 0, 0
    per_voice: dict[str, list[int]] = {}
    samples: list[dict[str, str]] = []
    for index, text in enumerate(texts):
        audio = read_wav(wavdir / f"{kind}{index:02}.wav")
        blocks = [audio[i : i + 1600] for i in range(0, audio.size, 1600)]
        spent = 0.0
        for block in blocks[:-1]:
            t = time.perf_counter()
            engine.accept(block)
            spent += time.perf_counter() - t
        t = time.perf_counter()
        engine.accept(blocks[-1])
        result = engine.finish()
        latency = time.perf_counter() - t
        latencies.append(latency * 1000.0)
        decode_total += spent + latency
        audio_total += audio.size / 16000
        if kind == "whisper":
            ref, hyp = _words(text), _words(result.text)
            wrong = _distance(ref, hyp)
            errors += wrong
            words += len(ref)
            tally = per_voice.setdefault(english[index][1], [0, 0])
            tally[0] += wrong
            tally[1] += len(ref)
        samples.append({"said": text, "heard": result.text})
    out: dict[str, Any] = {
        "engine": kind,
        "model": engine.model_name,
        "bias": bias,
        "beam_size": settings.stt.beam_size,
        "window_seconds": settings.stt.window_seconds,
        "utterances": len(texts),
        "audio_seconds": round(audio_total, 2),
        "load_seconds": round(load_s, 2),
        "rtf": round(decode_total / audio_total, 3),
        "latency_ms_median": round(statistics.median(latencies), 1),
        "latency_ms_p95": round(_p95(latencies), 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "samples": samples,
    }
    if words:
        out["wer"] = round(errors / words, 3)
        out["wer_by_voice"] = {voice: round(e / n, 3) for voice, (e, n) in per_voice.items()}
    return out


def part_wake_idle(seconds: float = 10.0) -> dict[str, Any]:
    """CPU share of the wake-word detector listening to real-time-paced quiet noise."""
    import numpy as np

    from assistant.wake import WakeWordDetector

    detector = WakeWordDetector("okay_nabu")
    rng = np.random.default_rng(1)
    block = 480  # 30 ms, the microphone block
    frames = [rng.normal(0, 50, block).astype(np.int16) for _ in range(100)]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    sent, detections = 0, 0
    while sent * block < seconds * 16000:
        detections += detector.process(frames[sent % len(frames)])
        sent += 1
        # Pace to real time, as a microphone would deliver.
        ahead = sent * block / 16000 - (time.perf_counter() - wall0)
        if ahead > 0:
            time.sleep(ahead)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {
        "seconds": round(wall, 2),
        "cpu_share_of_one_core": round(cpu / wall, 4),
        "false_detections": detections,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def part_ready() -> dict[str, Any]:
    """Load what `assistant run` loads before it listens; the parent times it."""
    from assistant.config import Settings
    from assistant.stt import create_engine
    from assistant.vad import create_engine as create_vad
    from assistant.wake import WakeWordDetector

    settings = Settings()
    WakeWordDetector(settings.wake.model)
    create_vad(settings.vad.engine)
    engine = create_engine(settings)
    print("ready", flush=True)
    return {"stt": f"{engine.name} {engine.model_name}", "peak_rss_mb": round(_peak_rss_mb(), 1)}


# --- the parent --------------------------------------------------------------


def _child(*args: str) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--part", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready_at = None
    lines = []
    for line in proc.stdout:
        if line.strip() == "ready" and ready_at is None:
            ready_at = time.perf_counter() - started
        else:
            lines.append(line)
    if proc.wait() != 0:
        raise SystemExit(f"bench part {args[0]} failed")
    return json.loads(lines[-1]), ready_at or 0.0


def _speak(text: str, voice: str, speed: int, out: Path) -> None:
    espeak = shutil.which("espeak-ng") or "espeak-ng"
    subprocess.run(
        [espeak, "-v", voice, "-s", str(speed), "-w", str(out), text],
        check=True,
        capture_output=True,
    )


def main() -> int:
    """Run every part, print a table and write the JSON results."""
    if len(sys.argv) > 1 and sys.argv[1] == "--part":
        name = sys.argv[2]
        if name == "engine":
            bias = sys.argv[5] or None
            beam = int(sys.argv[6]) if sys.argv[6] else None
            window = float(sys.argv[7]) if sys.argv[7] else None
            result = part_engine(sys.argv[3], Path(sys.argv[4]), bias, beam, window)
        elif name == "wake-idle":
            result = part_wake_idle()
        else:
            result = part_ready()
        print(json.dumps(result, ensure_ascii=False))
        return 0
    parser = argparse.ArgumentParser(description="speech recognition benchmark")
    parser.add_argument("out", nargs="?", type=Path, default=Path("bench-stt.json"))
    parser.add_argument("--bias", metavar="HOME", help="Whisper: favour this home's names")
    parser.add_argument("--beam", type=int, help="Whisper beam size (default: [stt] beam_size)")
    parser.add_argument(
        "--window", type=float, help="Whisper encoder window, s (default: [stt] window_seconds)"
    )
    args = parser.parse_args()
    out_path: Path = args.out
    beam_arg = "" if args.beam is None else str(args.beam)
    window_arg = "" if args.window is None else str(args.window)
    with tempfile.TemporaryDirectory() as tmp:
        wavdir = Path(tmp)
        for i, (text, voice, speed) in enumerate(_english()):
            _speak(text, voice, speed, wavdir / f"whisper{i:02}.wav")
        for i, text in enumerate(KO_COMMANDS):
            _speak(text, "ko", 150, wavdir / f"vosk{i:02}.wav")
        results: dict[str, Any] = {}
        results["ready"], ready_s = _child("ready")
        results["ready"]["seconds_to_ready"] = round(ready_s, 2)
        results["whisper"], _ = _child(
            "engine", "whisper", str(wavdir), args.bias or "", beam_arg, window_arg
        )
        results["vosk"], _ = _child("engine", "vosk", str(wavdir), "", "", "")
        results["wake_idle"], _ = _child("wake-idle")
    rows = [
        ("engine", "model", "RTF", "latency med", "latency p95", "WER", "load s", "peak RSS"),
    ]
    for key in ("whisper", "vosk"):
        r = results[key]
        rows.append(
            (
                key,
                r["model"],
                f"{r['rtf']:.3f}",
                f"{r['latency_ms_median']:.0f} ms",
                f"{r['latency_ms_p95']:.0f} ms",
                f"{r['wer']:.1%}" if "wer" in r else "-",
                f"{r['load_seconds']:.2f}",
                f"{r['peak_rss_mb']:.0f} MB",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    by_voice = results["whisper"]["wer_by_voice"]
    print("whisper WER by voice: " + ", ".join(f"{v} {w:.1%}" for v, w in by_voice.items()))
    isa = os.environ.get("CT2_FORCE_CPU_ISA", "native")
    print(f"(whisper bias {args.bias or 'none'}, CTranslate2 instruction set {isa})")
    wake = results["wake_idle"]
    print(
        f"\nwake word idle: {wake['cpu_share_of_one_core']:.1%} of one core over "
        f"{wake['seconds']:.0f} s ({wake['false_detections']} false detections, "
        f"peak RSS {wake['peak_rss_mb']:.0f} MB)"
    )
    ready = results["ready"]
    print(
        f"start-up to ready (wake + VAD + {ready['stt']}, models cached): "
        f"{ready['seconds_to_ready']:.2f} s, peak RSS {ready['peak_rss_mb']:.0f} MB"
    )
    print("(latency = end of audio to final text; Vosk streams, Whisper decodes at the end)")
    out_path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"results written to {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
