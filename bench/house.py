"""Benchmark: the delay wake word arbitration adds to a wake, and the claims' trip.

Two gateways (two ``WakeArbiter``s on two MQTT connections, one process)
on a private mosquitto hear the same espeak-ng "okay nabu" (one 10 dB
quieter) and contend for it, ROUNDS times.  Prints, median and p95:

- added delay: detection -> decision (what a wake waits before its chime),
  for the default window and a short one;
- claim trip: one gateway's publish -> the other's receipt (the window must
  cover this plus the spread between the gateways' detections);

and that the louder one won every round, and the process RSS.

Run: .venv/bin/python bench/house.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.audio.frames import reframe
from assistant.audio.wav import read_wav
from assistant.config import MqttConfig
from assistant.config_house import HouseConfig
from assistant.pipeline.arbitration import WAKE_TOPIC, WakeArbiter, parse_claim
from assistant.transports.mqtt import Incoming, MqttConnection
from assistant.wake import WakeWordDetector
from bench.e2e_process import mosquitto
from tests.pipeline_support import spoken


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {1000 * statistics.median(ordered):6.1f} ms, p95 {1000 * p95:6.1f} ms"


def _hear(arbiter: WakeArbiter, audio: np.ndarray) -> float:
    """The wake word's score, after feeding the arbiter the audio up to it."""
    detector = WakeWordDetector()
    for frame in reframe([audio], 480):
        arbiter.hear(frame)
        if detector.process(frame):
            return detector.last_probability
    raise RuntimeError("the wake word was not heard")


async def _gateway(
    port: int, site: str, window: float, trips: list[float]
) -> tuple[MqttConnection, WakeArbiter]:
    connection = MqttConnection(MqttConfig(host="127.0.0.1", port=port), name=site)
    await connection.__aenter__()

    async def publish(topic: str, payload: str) -> None:
        await connection.publish(topic, payload, qos=1, ttl=window)

    arbiter = WakeArbiter(site, window, publish)

    def on_message(message: Incoming) -> None:
        claim = parse_claim(message.payload)
        if not isinstance(claim, str) and claim.site != site:
            trips.append(time.time() - claim.time)
        arbiter.on_message(message)

    connection.subscribe(WAKE_TOPIC, on_message)
    await connection.wait_subscribed()
    return connection, arbiter


async def _rounds(port: int, window: float, rounds: int, audio: list[np.ndarray]) -> None:
    trips: list[float] = []
    near_conn, near = await _gateway(port, "near", window, trips)
    far_conn, far = await _gateway(port, "far", window, trips)
    delays: list[float] = []
    near_won = 0
    try:
        for _ in range(rounds):
            scores = _hear(near, audio[0]), _hear(far, audio[1])
            decisions = await asyncio.gather(near.contend(scores[0]), far.contend(scores[1]))
            delays += [d.waited for d in decisions]
            near_won += decisions[0].won and not decisions[1].won
            await asyncio.sleep(2 * window)  # the next wake word is not this one
    finally:
        await near_conn.__aexit__(None, None, None)
        await far_conn.__aexit__(None, None, None)
    print(f"window {1000 * window:5.0f} ms: added delay {_ms(delays)}")
    print(f"               claim trip  {_ms(trips)}")
    print(f"               the louder gateway answered {near_won} of {rounds} wakes alone")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-house-") as tmp_name:
        tmp = Path(tmp_name)
        loud = read_wav(spoken(tmp / "wake.wav", "turn on the kitchen light"))
        quiet = (loud.astype(np.float64) * 10 ** (-10 / 20)).astype(np.int16)
        broker, port = mosquitto(tmp)
        try:
            for window in (HouseConfig().arbitration_seconds, 0.05):
                await _rounds(port, window, args.rounds, [loud, quiet])
        finally:
            broker.terminate()
            broker.wait()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max RSS {rss:.0f} MiB; with [house] off a wake waits for nothing (0 ms added)")


if __name__ == "__main__":
    asyncio.run(main())
