"""Template-path latency with a 200-entity home: median and p95, plus RSS.

    .venv/bin/python bench/understanding.py [--entities 200] [--rounds 20]

Measures `Understanding.process()` end to end except device I/O (a recording
executor stands in for MQTT): hassil matching against the live slot lists,
target resolution, the handler and the response template.  Sentences that
match nothing (out-of-domain, unknown device) are timed separately because
they take the slower second pass that looks for the unknown name.

Accuracy per stage on labelled sentences (and the other stages' latency): bench/stages.py.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time

from assistant.devices.entities import Entity
from assistant.devices.registry import Registry
from assistant.understanding.dryrun import RecordingExecutor
from assistant.understanding.engine import Understanding
from assistant.understanding.handlers import HANDLERS
from assistant.understanding.loader import discover
from assistant.understanding.sentences import load_templates

AREAS = [
    "Kitchen", "Living Room", "Bedroom", "Office", "Garage", "Hallway", "Bathroom",
    "Dining Room", "Basement", "Attic", "Guest Room", "Laundry", "Porch", "Nursery",
    "Study", "Pantry", "Patio", "Gym", "Library", "Workshop",
]  # fmt: skip
KINDS = [
    ("light", "Ceiling Light"), ("light", "Lamp"), ("light", "Spotlight"), ("switch", "Plug"),
    ("fan", "Fan"), ("cover", "Blind"), ("lock", "Door Lock"), ("climate", "Thermostat"),
    ("sensor", "Temperature"), ("binary_sensor", "Window"),
]  # fmt: skip

MATCHING = [
    "turn on the kitchen ceiling light",
    "turn off the lights in the bedroom",
    "set the office lamp to 40%",
    "make the living room spotlight red",
    "open the garage blind",
    "lock the hallway door lock",
    "set the study thermostat to 21 degrees",
    "set the gym fan speed to 30%",
    "is the attic window open",
    "which lights are on in the kitchen",
    "turn off the porch plug and the patio fan",
    "what time is it",
    "set a timer for 5 minutes",
    "turn on the lights on the first floor",
]
MISSING = ["what is the capital of france", "turn on the swimming pool pump"]


def build_home(count: int) -> Registry:
    """`count` entities spread over areas and kinds, on two floors."""
    registry = Registry()
    for index, (area, (domain, label)) in enumerate(itertools.product(AREAS, KINDS)):
        if index >= count:
            break
        name = f"{area} {label}"
        device_class = "window" if domain == "binary_sensor" else None
        registry.upsert(
            Entity(f"{domain}.e{index}", name, domain, "discovery", area, device_class=device_class)
        )
        registry.set_floor(area, "First Floor" if AREAS.index(area) % 2 else "Second Floor")
        registry.set_state(f"{domain}.e{index}", "on" if index % 3 else "off")
    return registry


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def measure(understanding: Understanding, sentences: list[str], rounds: int) -> list[float]:
    times: list[float] = []
    for _ in range(rounds):
        for sentence in sentences:
            started = time.perf_counter()
            await understanding.process(sentence)
            times.append((time.perf_counter() - started) * 1000)
        understanding.timers.cancel_all()
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    registry = build_home(args.entities)
    started = time.perf_counter()
    sources = discover(entry_points=False)
    templates = load_templates("en", sources.yaml_files, keep_intents=HANDLERS.names())
    understanding = Understanding(registry, RecordingExecutor(registry), templates)
    _ = understanding.matcher.slot_lists
    setup_ms = (time.perf_counter() - started) * 1000
    for sentence in MATCHING:  # every sentence must really match, or the numbers lie
        outcome = await understanding.process(sentence)
        assert outcome.handled_by == "template", sentence
    match_ms = await measure(understanding, MATCHING, args.rounds)
    miss_ms = await measure(understanding, MISSING, args.rounds)
    started = time.perf_counter()
    registry.upsert(Entity("light.new", "Brand New Light", "light", "discovery", "Kitchen"))
    _ = understanding.matcher.slot_lists
    rebuild_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    phrases = understanding.phrases()
    phrases_ms = (time.perf_counter() - started) * 1000
    print(f"entities: {len(registry)}   sentences: {len(MATCHING)} x {args.rounds} rounds")
    print(f"setup (templates + lists): {setup_ms:.0f} ms")
    print(
        f"template path (matched):  median {statistics.median(match_ms):.1f} ms"
        f"   p95 {percentile(match_ms, 0.95):.1f} ms   max {max(match_ms):.1f} ms"
    )
    print(
        f"no match (OOD / unknown): median {statistics.median(miss_ms):.1f} ms"
        f"   p95 {percentile(miss_ms, 0.95):.1f} ms"
    )
    print(f"slot lists rebuild after a device change: {rebuild_ms:.1f} ms")
    print(f"phrase list: {len(phrases)} phrases in {phrases_ms:.0f} ms")
    print(f"RSS: {rss_mb():.0f} MB")
    understanding.close()


if __name__ == "__main__":
    asyncio.run(main())
