"""Benchmark: four Wyoming satellites on one gateway.

Four fake satellites (the `wyoming` package, on loopback) in four rooms stream
espeak-ng commands in real time ("turn on the
lights" / "turn off the lights": each room's own lights).  Measured:

- satellite end of speech -> action: from the last chunk of the spoken
  command (before the trailing silence the VAD needs) to the simulated device's
  state change on a private mosquitto; median and p95, one room at a time and
  all four rooms at once (their commands are recognised one after the other);
- peak RSS of the gateway process with the four satellites connected.

Run: PYTHONPATH=. .venv/bin/python bench/satellite.py [--rounds 4] [--stt whisper|vosk]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.audio import SAMPLE_RATE, Samples
from assistant.audio.wav import read_wav
from assistant.config import MqttConfig, parse
from assistant.config_satellite import SatelliteConfig
from assistant.errors import UserError
from assistant.integrations.satellite import SatelliteHub, runtime_services
from assistant.pipeline.runtime import Runtime, RuntimeOptions
from assistant.simulate import Fleet, load_example_home
from bench.e2e_process import mosquitto, tree_peak_rss_mb
from tests.conftest import speak
from tests.fake_satellite import FakeSatellite

ROOMS = {
    "Kitchen": "light.kitchen_ceiling",
    "Living Room": "light.living_room_ceiling",
    "Bedroom": "light.bedroom_ceiling",
    "Office": "light.desk_lamp",
}


def _spoken(tmp: Path, text: str) -> Samples:
    lead = np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.int16)
    return np.concatenate([lead, read_wav(speak(text, tmp / f"{uuid.uuid4().hex}.wav"))])


async def _turn(
    sat: FakeSatellite, fleet: Fleet, entity_id: str, audio: Samples, state: str
) -> float:
    reply_task = asyncio.create_task(sat.say(audio, realtime=True))
    async with asyncio.timeout(60):
        await fleet.wait_for_state(entity_id, state)
        acted = time.monotonic()
        reply = await reply_task
    return (acted - reply.speech_ended) * 1000.0


async def bench(rounds: int, stt: str, tmp: Path) -> dict[str, object]:
    broker, port = mosquitto(tmp)
    try:
        prefix = f"bench-{uuid.uuid4().hex[:6]}"
        settings = parse(
            {
                "mqtt": {"host": "127.0.0.1", "port": port},
                "discovery": {"prefix": prefix},
                "understanding": {"llm": "off"},
                "stt": {"engine": stt},
            }
        )
        mqtt = MqttConfig(host="127.0.0.1", port=port)
        commands = {s: _spoken(tmp, f"turn {s} the lights") for s in ("on", "off")}
        sats = [FakeSatellite(area.lower()) for area in ROOMS]
        alone: list[float] = []
        together: list[float] = []
        async with (
            Fleet(load_example_home(), mqtt, prefix) as fleet,
            Runtime(settings, RuntimeOptions(wake=False, interface=False)) as runtime,
        ):
            for sat in sats:
                await sat.__aenter__()
            configs = [
                SatelliteConfig(uri=sat.uri, name=sat.name, area=area)
                for sat, area in zip(sats, ROOMS, strict=True)
            ]
            try:
                async with SatelliteHub(runtime_services(runtime), configs) as hub:
                    async with asyncio.timeout(30):
                        await hub.wait_connected()
                        await asyncio.gather(*(sat.running.wait() for sat in sats))
                    for entity_id in ROOMS.values():
                        await fleet.set_state(entity_id, "off")
                    pairs = list(zip(sats, ROOMS.values(), strict=True))
                    for n in range(rounds):
                        state = "on" if n % 2 == 0 else "off"
                        for sat, entity_id in pairs:  # one room at a time
                            alone.append(await _turn(sat, fleet, entity_id, commands[state], state))
                    for n in range(rounds):
                        state = "on" if n % 2 == 0 else "off"
                        turns = [_turn(s, fleet, e, commands[state], state) for s, e in pairs]
                        together += await asyncio.gather(*turns)  # all four rooms at once
                    rss = tree_peak_rss_mb()
            finally:
                for sat in sats:
                    await sat.__aexit__()
    finally:
        broker.terminate()
        broker.wait()
    return {
        "satellites": len(sats),
        "stt": stt,
        "end_of_speech_to_action_ms": {
            "one_at_a_time": _stats(alone),
            "four_at_once": _stats(together),
        },
        "peak_rss_mb": rss,
    }


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="rounds of four commands at once")
    parser.add_argument("--stt", choices=("whisper", "vosk"), default="whisper")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = asyncio.run(bench(args.rounds, args.stt, Path(tmp)))
        except UserError as exc:  # a model that is not installed: say which
            sys.exit(f"bench/satellite.py: {exc}")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
