"""End of speech -> action with and without background work (called by bench/run.py).

    .venv/bin/python bench/background.py OUT.json [--engine whisper|vosk] [--utterances N]

The whole assistant in one process (as bench/e2e.py: private mosquitto, the
simulated home, espeak-ng commands through the real listener, STT,
understanding and executor), the same commands in three phases:

- ``quiet``: nothing else runs (the LLM prompt and the STT phrases are ready);
- ``background``: before each command a new device is announced over MQTT
  discovery, and the command starts just after that change has started the
  background work it causes: the STT's phrase list (Vosk grammar) or names
  (Whisper bias) rebuilt, and the LLM's prompt prepared again;
- ``background, no gate``: the same, but the listener and the turns do not
  hold the foreground, so the background work (still at idle priority) does
  not stop at its safe points: what the gate is worth.

Per phase: end of speech -> command at the fleet (p50, p95, max, max/median),
that time divided by the command's audio length (median), the STT real-time
factor (median), WER against the spoken text, and how often background work
stopped for an utterance.  The numbers are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiomqtt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.pipeline.files import FileListener
from assistant.pipeline.grammar_refresh import SETTLE_SECONDS
from assistant.pipeline.runtime import Runtime, RuntimeOptions
from assistant.simulate import Fleet
from assistant.understanding.warmup import WARM_UP_DELAY
from bench.e2e import (
    KOREAN_COMMANDS,
    TEMPLATE_COMMANDS,
    _home,
    _path_latencies,
    _pct,
    _settings,
    _template_wavs,
)
from bench.e2e_process import mosquitto
from bench.stt import _distance, _words

PHASES = ("quiet", "background", "background, no gate")
STARTED_MARGIN = 0.15
"""Seconds after the background work was due to start: the command arrives mid-work."""
BACKGROUND_WAIT = 30.0
"""Seconds a background phase waits for the previous change's work before the next."""


def _wer(pairs: list[tuple[str, str]], korean: bool) -> float | None:
    """Word error rate over (reference, transcript) pairs."""

    def words(text: str) -> list[str]:
        return text.split() if korean else _words(text)

    total = sum(len(words(ref)) for ref, _ in pairs)
    if not total:
        return None
    return round(sum(_distance(words(ref), words(hyp)) for ref, hyp in pairs) / total, 4)


def _phase_summary(details: list[dict[str, Any]], refs: list[str], korean: bool) -> dict[str, Any]:
    ok = [d for d in details if d.get("ok")]
    latencies = [d["latency_ms"] for d in ok]
    timed = [(d["latency_ms"], d["timings_ms"]) for d in ok if d["timings_ms"].get("audio")]
    ratios = [latency / t["audio"] for latency, t in timed]
    rtfs = [t["stt"] / t["audio"] for _, t in timed]
    out: dict[str, Any] = {"n": len(latencies), "failed": len(details) - len(ok)}
    if latencies:
        median = statistics.median(latencies)
        out.update(
            median_ms=round(median, 1),
            p95_ms=round(_pct(latencies, 0.95), 1),
            max_ms=round(max(latencies), 1),
            max_over_median=round(max(latencies) / median, 2),
            eos_to_action_per_audio_second=round(statistics.median(ratios), 3) if ratios else None,
            stt_rtf_median=round(statistics.median(rtfs), 3) if rtfs else None,
        )
    out["wer"] = _wer([(r, d["transcript"]) for r, d in zip(refs, details, strict=True)], korean)
    out["heard"] = [d["transcript"] for d in details]
    return out


async def _announce(client: aiomqtt.Client, prefix: str, korean: bool) -> None:
    """A new light over Home Assistant MQTT discovery (what a pairing looks like)."""
    uid = f"bench_spare_{uuid.uuid4().hex[:8]}"
    name = "작은 조명" if korean else f"Spare Lamp {uid[-4:]}"
    config = {"name": name, "unique_id": uid, "command_topic": f"bench/{uid}/set", "schema": "json"}
    await client.publish(f"{prefix}/light/{uid}/config", json.dumps(config), qos=1)


async def _background_done(runtime: Runtime, limit: float) -> None:
    """Wait (at most `limit` s) for the LLM prompt and the STT list to be ready."""
    assert runtime.understanding is not None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit):
            await runtime.understanding.warmed()
            if runtime.grammar is not None:
                await runtime.grammar.settled()


async def _phase(
    phase: str,
    runtime: Runtime,
    *,
    files: FileListener,
    fleet: Fleet,
    wavs: list[Path],
    client: aiomqtt.Client,
    prefix: str,
) -> dict[str, Any]:
    """One phase's rows (per command), and what the background work did meanwhile."""
    assert runtime.understanding is not None
    korean = runtime.settings.stt.engine == "vosk"
    gate = runtime.foreground
    pauses = gate.pauses
    builds = runtime.grammar.builds if runtime.grammar else 0
    rows: list[dict[str, Any]] = []
    await _background_done(runtime, 600 if phase == "quiet" else BACKGROUND_WAIT)
    for wav in wavs:
        if phase != "quiet":
            # On a busy machine nice-19 work may not finish: the next change piles up.
            await _background_done(runtime, BACKGROUND_WAIT)
            await _announce(client, prefix, korean)
            wait = WARM_UP_DELAY if runtime.llm_loaded else SETTLE_SECONDS
            await asyncio.sleep(wait + STARTED_MARGIN)
        rows += (await _path_latencies(files, fleet, [wav]))[2]
    out: dict[str, Any] = {"rows": rows, "background_pauses": gate.pauses - pauses}
    if runtime.grammar is not None:
        out["stt_list_rebuilds"] = runtime.grammar.builds - builds
    return out


async def measure(engine: str, utterances: int) -> dict[str, Any]:
    """The three phases for one STT engine."""
    korean = engine == "vosk"
    out: dict[str, Any] = {"engine": engine, "phases": {}}
    with tempfile.TemporaryDirectory(prefix="bench-bg-") as tmp_name:
        tmp = Path(tmp_name)
        broker, port = mosquitto(tmp)
        try:
            prefix = f"bench-{uuid.uuid4().hex[:6]}"
            settings = _settings(port, prefix, engine, "fallback")
            wavs = _template_wavs(tmp, engine, utterances)
            commands = KOREAN_COMMANDS if korean else TEMPLATE_COMMANDS
            refs = [commands[i % len(commands)][0] for i in range(utterances)]
            async with (
                Fleet(_home(engine), settings.mqtt, prefix) as fleet,
                aiomqtt.Client("127.0.0.1", port) as client,
            ):
                options = RuntimeOptions(wake=True, speak=False, interface=False)
                async with Runtime(settings, options, status=lambda _: None) as runtime:
                    assert runtime.listener is not None
                    assert runtime.turns is not None
                    out["llm_loaded"] = runtime.llm_loaded
                    out["background_work"] = ("phrase list" if korean else "whisper names") + (
                        " + LLM prompt" if runtime.llm_loaded else ""
                    )
                    files = FileListener(runtime.listener, runtime.turns)
                    for phase in PHASES:
                        if phase == "background, no gate":
                            runtime.listener.foreground = None
                            runtime.turns.foreground = None
                        summary = await _phase(
                            phase,
                            runtime,
                            files=files,
                            fleet=fleet,
                            wavs=wavs,
                            client=client,
                            prefix=prefix,
                        )
                        summary.update(_phase_summary(summary.pop("rows"), refs, korean))
                        out["phases"][phase] = summary
                        print(phase, json.dumps(summary), flush=True)
        finally:
            broker.terminate()
            broker.wait(timeout=10)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--engine", default="whisper", choices=["whisper", "vosk"])
    parser.add_argument("--utterances", type=int, default=12)
    args = parser.parse_args()
    started = time.monotonic()
    result = asyncio.run(measure(args.engine, args.utterances))
    result["seconds"] = round(time.monotonic() - started, 1)
    args.output.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
