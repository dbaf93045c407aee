"""Two `assistant run` processes in one house, on one real mosquitto.

House-wide asks are split between them (the broker's shared subscription),
none lost or answered twice; of the two that hear one wake word, the one
that heard it louder answers and the other stays silent.  Audio comes on
stdin (`--input -`), paced like a microphone.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
import wave
from collections import Counter
from pathlib import Path

import aiomqtt
import numpy as np
import pytest

from assistant.audio.wav import read_wav
from assistant.config import MqttConfig
from assistant.simulate import Fleet, load_example_home
from assistant.understanding.replies import load_replies
from tests.conftest import Broker
from tests.pipeline_support import silence, spoken
from tests.processes import start_run

pytestmark = pytest.mark.slow

ASKS = 50
IN_FLIGHT = 8  # asks outstanding at once: below each gateway's request queue (16)
FRAME_BYTES = 960  # 30 ms of 16 kHz s16le


def _config(tmp_path: Path, broker: Broker, prefix: str, site: str, extra: str = "") -> Path:
    config = tmp_path / f"{site}.toml"
    config.write_text(
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'[discovery]\nprefix = "{prefix}"\n[site]\nid = "{site}"\nha_discovery = false\n'
        f'[understanding]\nllm = "off"\n[house]\nenabled = true\ngroup = "{prefix}"\n{extra}',
        encoding="utf-8",
    )
    return config


async def _stop(procs: list[asyncio.subprocess.Process]) -> list[str]:
    """SIGTERM each, and its stderr (checked: a clean exit, no traceback)."""
    errs = []
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        async with asyncio.timeout(30):
            _, err = await proc.communicate()
        errs.append(err.decode())
    return errs


class Bus:
    """Everything published under assistant/#, as (topic, payload) in order."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.seen: list[tuple[str, str]] = []
        self._changed = asyncio.Condition()

    async def run(self) -> None:
        async for message in self.client.messages:
            payload = bytes(message.payload).decode()  # type: ignore[arg-type]
            async with self._changed:
                self.seen.append((str(message.topic), payload))
                self._changed.notify_all()

    async def wait(self, topic: str, count: int = 1, payload: str | None = None) -> None:
        def enough() -> bool:
            hits = [p for t, p in self.seen if t == topic and payload in (None, p)]
            return len(hits) >= count

        async with self._changed:
            await self._changed.wait_for(enough)

    def payloads(self, topic: str) -> list[str]:
        return [p for t, p in self.seen if t == topic]


async def test_two_gateways_split_house_wide_asks_none_lost_or_doubled(
    tmp_path: Path, broker: Broker
) -> None:
    prefix = f"ha-{uuid.uuid4().hex[:6]}"
    sites = [f"a-{uuid.uuid4().hex[:6]}", f"b-{uuid.uuid4().hex[:6]}"]
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with (
        Fleet(load_example_home(), mqtt, prefix) as fleet,
        aiomqtt.Client(broker.host, broker.port) as client,
    ):
        await client.subscribe("assistant/#", qos=1)
        bus = Bus(client)
        listening = asyncio.create_task(bus.run())
        procs = [
            await start_run(_config(tmp_path, broker, prefix, site), "--input", "-", "--no-wake")
            for site in sites
        ]
        try:
            async with asyncio.timeout(240):
                for site in sites:
                    await bus.wait(f"assistant/{site}/state", payload="idle")
                # A few asks in flight at a time: each gateway's queue never overflows
                # into "busy" replies, and every answer is counted as it comes.
                for ask in range(ASKS):
                    await bus.wait("assistant/house/reply", max(0, ask + 1 - IN_FLIGHT))
                    words = "on" if ask % 2 else "off"
                    text = json.dumps({"text": f"turn {words} the reading lamp", "id": str(ask)})
                    await client.publish("assistant/house/ask", text, qos=1)
                await bus.wait("assistant/house/reply", ASKS)
                await fleet.wait_for_commands(ASKS)
                # A house-wide ask is no more powerful than a site's shared ask.
                unlock = json.dumps({"text": "unlock the front door", "id": "unlock"})
                await client.publish("assistant/house/ask", unlock, qos=1)
                await bus.wait("assistant/house/reply", ASKS + 1)
        finally:
            errs = await _stop(procs)
            listening.cancel()
    for proc, err in zip(procs, errs, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert "Traceback" not in err
    replies = [json.loads(p) for p in bus.payloads("assistant/house/reply")]
    ids = Counter(reply["id"] for reply in replies)
    assert ids == Counter([*map(str, range(ASKS)), "unlock"])  # none lost, none twice
    by_site = Counter(reply["site"] for reply in replies if reply["id"] != "unlock")
    assert set(by_site) == set(sites), by_site  # both gateways took a share
    assert not any(reply.get("busy") for reply in replies)
    # One command per ask reached the lamp; the door was never unlocked.
    lamp = [r for r in fleet.received if r.entity_id == "light.reading_lamp"]
    assert len(lamp) == ASKS
    assert not [r for r in fleet.received if r.entity_id.startswith("lock.")]
    [refused] = [reply for reply in replies if reply["id"] == "unlock"]
    assert refused["text"] == load_replies("en").say("not_from_here")
    # House answers go to the house topics, not the sites' own.
    for site in sites:
        assert bus.payloads(f"assistant/{site}/reply") == []


async def _feed(procs: list[asyncio.subprocess.Process], audio: list[bytes]) -> None:
    """Write each process its own audio, 30 ms at a time in real time, together."""
    started = time.monotonic()
    for index in range(0, len(audio[0]), FRAME_BYTES):
        for proc, pcm in zip(procs, audio, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(pcm[index : index + FRAME_BYTES])
        for proc in procs:
            assert proc.stdin is not None
            await proc.stdin.drain()
        ahead = started + (index + FRAME_BYTES) / 32000 - time.monotonic()
        if ahead > 0:
            await asyncio.sleep(ahead)


async def test_of_two_gateways_hearing_one_wake_word_exactly_one_answers(
    tmp_path: Path, broker: Broker
) -> None:
    prefix = f"ha-{uuid.uuid4().hex[:6]}"
    near, far = f"near-{uuid.uuid4().hex[:6]}", f"far-{uuid.uuid4().hex[:6]}"
    command = read_wav(spoken(tmp_path / "cmd.wav", "turn on the kitchen light"))
    loud = np.concatenate([silence(1.0), command, silence(2.0)])
    quiet = (loud.astype(np.float64) * 10 ** (-10 / 20)).astype(np.int16)
    # A loaded test machine may hear the word a few hundred ms apart in the two processes.
    window = "arbitration_seconds = 1.0\n"
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    outs = {site: tmp_path / f"{site}.wav" for site in (near, far)}
    async with (
        Fleet(load_example_home(), mqtt, prefix) as fleet,
        aiomqtt.Client(broker.host, broker.port) as client,
    ):
        await client.subscribe("assistant/#", qos=1)
        bus = Bus(client)
        listening = asyncio.create_task(bus.run())
        procs = [
            await start_run(
                _config(tmp_path, broker, prefix, site, window),
                "--input",
                "-",
                "--out",
                str(outs[site]),
            )
            for site in (near, far)
        ]
        try:
            async with asyncio.timeout(240):
                for site in (near, far):
                    await bus.wait(f"assistant/{site}/state", payload="idle")
                await _feed(procs, [loud.astype("<i2").tobytes(), quiet.astype("<i2").tobytes()])
                await bus.wait(f"assistant/{near}/reply")
                await fleet.wait_for_state("light.kitchen_ceiling", "on")
        finally:
            errs = await _stop(procs)
            listening.cancel()
    for proc, err in zip(procs, errs, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert "Traceback" not in err
    # Both heard the wake word and claimed it, the near one louder.
    claims = {c["site"]: c for c in map(json.loads, bus.payloads("assistant/house/wake"))}
    assert set(claims) == {near, far}
    assert claims[near]["loudness"] > claims[far]["loudness"]
    # Exactly one acted and replied.
    assert [r.entity_id for r in fleet.received].count("light.kitchen_ceiling") == 1
    [reply] = [json.loads(p) for p in bus.payloads(f"assistant/{near}/reply")]
    assert reply["text"]
    for topic in ("transcript", "intent", "reply", "event"):
        assert bus.payloads(f"assistant/{far}/{topic}") == [], topic
    assert "listening" not in bus.payloads(f"assistant/{far}/state")
    # The far one made no sound at all (no chime, no reply); the near one did both.
    with wave.open(str(outs[far])) as silent:
        assert silent.getnframes() == 0
    assert np.abs(read_wav(outs[near])).max() > 1000
    assert "another gateway answers" in errs[1]
