"""Benchmark: a 500-entity home learned from retained discovery, and command latency.

Starts a private mosquitto on a free loopback port, publishes N retained
discovery configs (lights, switches, covers, sensors, with retained states),
then measures:

- connect -> complete registry (all N entities), and -> wait_settled();
- memory: process RSS before/after, and Python heap held by the service;
- command latency: executor.execute() -> PUBACK (what a caller waits for),
  and -> arrival at a subscriber on loopback (the "fleet"); median and p95.

Run: .venv/bin/python bench/devices.py [--entities 500] [--commands 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import aiomqtt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import parse
from assistant.devices.mqtt.service import DeviceService
from assistant.devices.registry import Registry
from bench.e2e_process import mosquitto


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _config(i: int) -> tuple[str, dict[str, Any], tuple[str, str] | None]:
    room = f"Room {i // 10}"
    base = f"bench/dev{i}"
    dev = {"ids": [f"bench-{i}"], "name": f"Device {i}", "sa": room}
    kind = ("light", "switch", "cover", "sensor", "light_json")[i % 5]
    if kind == "light":
        return "light", {"~": base, "name": None, "cmd_t": "~/set", "stat_t": "~/state",
                         "bri_cmd_t": "~/bri/set", "bri_stat_t": "~/bri", "dev": dev}, (
            f"{base}/state", "ON")  # fmt: skip
    if kind == "light_json":
        return "light", {"~": base, "name": "Strip", "schema": "json", "cmd_t": "~/set",
                         "stat_t": "~/state", "brightness": True, "sup_clrm": ["rgb"],
                         "dev": dev}, (f"{base}/state", '{"state":"OFF"}')  # fmt: skip
    if kind == "switch":
        return "switch", {"~": base, "name": "Plug", "cmd_t": "~/set", "stat_t": "~/state",
                          "dev": dev}, (f"{base}/state", "OFF")  # fmt: skip
    if kind == "cover":
        return "cover", {"~": base, "name": "Blind", "cmd_t": "~/set", "pos_t": "~/pos",
                         "set_pos_t": "~/pos/set", "dev": dev}, (f"{base}/pos", "40")  # fmt: skip
    return "sensor", {"~": base, "name": "Temperature", "stat_t": "~/state",
                      "val_tpl": "{{ value_json.t }}", "unit_of_meas": "°C", "dev": dev}, (
        f"{base}/state", '{"t": 21.5}')  # fmt: skip


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(entities: int, commands: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        broker, port = mosquitto(Path(tmp))
        try:
            await _bench(port, entities, commands)
        finally:
            broker.terminate()
            broker.wait()


async def _bench(port: int, entities: int, commands: int) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as publisher:
        for i in range(entities):
            component, config, state = _config(i)
            await publisher.publish(f"bench/ha/{component}/e{i}/config", json.dumps(config),
                                    qos=1, retain=True)  # fmt: skip
            if state:
                await publisher.publish(state[0], state[1], qos=1, retain=True)
    settings = parse(
        {
            "mqtt": {"host": "127.0.0.1", "port": port, "confirm_seconds": 0},
            "discovery": {"prefix": "bench/ha"},
            "zigbee2mqtt": {"enabled": False},
        }
    )
    registry = Registry()
    full = asyncio.Event()
    registry.add_listener(lambda: len(registry) >= entities and full.set())
    rss_before = _rss_mb()
    tracemalloc.start()
    heap_before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    async with DeviceService(settings, registry) as service:
        await full.wait()
        complete = time.perf_counter() - start
        await service.wait_settled()
        settled = time.perf_counter() - start
        heap = (tracemalloc.get_traced_memory()[0] - heap_before) / 1e6
        tracemalloc.stop()
        rss_after = _rss_mb()
        with_state = sum(1 for e in registry.entities() if registry.state(e.entity_id).state)
        print(f"entities: {len(registry)} ({with_state} with retained state)")
        print(f"connect -> complete registry: {complete * 1000:.0f} ms")
        print(
            f"connect -> wait_settled():    {settled * 1000:.0f} ms "
            f"(includes the {settings.discovery.settle_seconds} s quiet window)"
        )
        print(
            f"memory: RSS {rss_before:.1f} -> {rss_after:.1f} MB "
            f"(+{rss_after - rss_before:.1f} MB); Python heap held: {heap:.2f} MB"
        )
        await _latency(port, service, entities, commands)


async def _latency(port: int, service: DeviceService, entities: int, commands: int) -> None:
    arrivals: dict[str, float] = {}
    ready = asyncio.Event()

    async def fleet() -> None:
        async with aiomqtt.Client("127.0.0.1", port) as sub:
            await sub.subscribe("bench/+/set", qos=1)
            ready.set()
            async for message in sub.messages:
                arrivals[str(message.topic)] = time.perf_counter()

    task = asyncio.create_task(fleet())
    await ready.wait()
    acked: list[float] = []
    delivered: list[float] = []
    switches = [f"switch.device_{i}_plug" for i in range(1, entities, 5)]
    for n in range(commands):
        entity_id = switches[n % len(switches)]
        d = service.discovered(entity_id)
        assert d is not None, entity_id
        topic = str(d.config["command_topic"])
        arrivals.pop(topic, None)
        t0 = time.perf_counter()
        await service.executor.execute(entity_id, "turn_on" if n % 2 else "turn_off")
        acked.append((time.perf_counter() - t0) * 1000)
        while topic not in arrivals:  # noqa: ASYNC110 - measuring, not waiting for a state
            await asyncio.sleep(0)
        delivered.append((arrivals[topic] - t0) * 1000)
    task.cancel()
    print(
        f"command -> PUBACK     ({commands}): median {statistics.median(acked):.2f} ms, "
        f"p95 {_pct(acked, 0.95):.2f} ms"
    )
    print(
        f"command -> subscriber ({commands}): median {statistics.median(delivered):.2f} ms, "
        f"p95 {_pct(delivered, 0.95):.2f} ms"
    )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=500)
    parser.add_argument("--commands", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(run(args.entities, args.commands))


if __name__ == "__main__":
    main()
