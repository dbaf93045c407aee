"""`assistant transcribe FILE...`: speech recognition of WAV files.

Each file is one utterance: it is streamed in blocks, and only the first
``[vad] max_utterance_seconds`` reach the engine (the maximum utterance length
applies as it does to the microphone), so a long recording is processed in
bounded memory and time.
A bad file gets one line on stderr and the others are still transcribed.

``--bias HOME`` tells Whisper the names of a home (a home YAML file as
`simulate` reads it, or ``example`` for the shipped one), as `run` tells it
the names of the live devices.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.audio import SAMPLE_RATE
from assistant.audio.wav import iter_wav, wav_info
from assistant.config import Settings
from assistant.errors import UserError
from assistant.stt import PhraseBiased, SttEngine, create_engine
from assistant.stt.bias import unique
from assistant.textsafe import clean, json_safe

_BLOCK = 1600  # 100 ms: the size a microphone would deliver, good for streaming engines


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `transcribe`."""
    parser = sub.add_parser("transcribe", help="speech recognition of WAV files", parents=[common])
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="WAV files")
    parser.add_argument(
        "--engine", choices=("whisper", "vosk", "two-pass"), help="override [stt] engine"
    )
    parser.add_argument("--model", help="catalog model name or directory (override [stt] model)")
    parser.add_argument(
        "--bias",
        metavar="HOME",
        help="favour the names of this home (YAML file, or 'example'); Whisper only",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class FileResult:
    """One transcribed file."""

    path: Path
    transcript: str
    audio_seconds: float
    fed_seconds: float
    decode_ms: float


def home_names(home: str) -> list[str]:
    """Names, aliases and areas of a home file ('example': the shipped home); UserError if bad."""
    from assistant.simulate.home import load_example_home, load_home

    spec = load_example_home() if home == "example" else load_home(Path(home))
    names = [name for entity in spec.entities for name in (entity.name, *entity.aliases)]
    return unique([*names, *(area.name for area in spec.areas)])


def transcribe_file(engine: SttEngine, path: Path, max_seconds: float) -> FileResult:
    """Stream one WAV file through the engine; UserError for a bad file."""
    limit = int(max_seconds * SAMPLE_RATE)
    header_seconds = wav_info(path).seconds
    total = fed = 0
    feeding = 0.0
    try:
        for block in iter_wav(path, _BLOCK):
            total += len(block)
            if fed < limit:
                kept = block[: limit - fed]
                t0 = time.perf_counter()
                engine.accept(kept)
                feeding += time.perf_counter() - t0
                fed += len(kept)
            elif header_seconds is not None:
                break  # the header knows the length: no need to read the rest
    except UserError:
        engine.reset()
        raise
    got = header_seconds if header_seconds is not None else total / SAMPLE_RATE
    result = engine.finish()
    return FileResult(
        path=path,
        transcript=result.text,
        audio_seconds=got,
        fed_seconds=fed / SAMPLE_RATE,
        decode_ms=feeding * 1000.0 + result.decode_ms,
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Transcribe every file; exit 1 when any file could not be read."""
    t0 = time.perf_counter()
    names = home_names(args.bias) if args.bias is not None else None
    engine = create_engine(settings, engine=args.engine, model=args.model)
    if names is not None:
        if not isinstance(engine, PhraseBiased):
            raise UserError(f"--bias needs whisper; {engine.name} cannot be biased")
        engine.set_bias(names)
    load_ms = (time.perf_counter() - t0) * 1000.0
    failed = 0
    max_seconds = settings.vad.max_utterance_seconds
    for index, path in enumerate(args.files):
        started = time.perf_counter()
        try:
            result = transcribe_file(engine, path, max_seconds)
        except UserError as exc:
            print(f"assistant: {clean(exc)}", file=sys.stderr)
            failed += 1
            continue
        this_load = load_ms if index == 0 else 0.0
        total_ms = (time.perf_counter() - started) * 1000.0 + this_load
        if args.json:
            print(
                json.dumps(
                    json_safe(
                        {
                            "file": str(path),
                            "transcript": result.transcript,
                            "engine": engine.name,
                            "model": engine.model_name,
                            "audio_seconds": round(result.audio_seconds, 3),
                            "transcribed_seconds": round(result.fed_seconds, 3),
                            "timings_ms": {
                                "load": round(this_load, 1),
                                "decode": round(result.decode_ms, 1),
                                "total": round(total_ms, 1),
                            },
                        }
                    ),
                    ensure_ascii=False,
                ),
                flush=True,
            )
        else:
            cut = (
                f" [first {result.fed_seconds:.0f} s of {result.audio_seconds:.0f} s]"
                if result.fed_seconds < result.audio_seconds
                else ""
            )
            print(f"{clean(path)}: {clean(result.transcript)}{cut}", flush=True)
    return 1 if failed else 0
