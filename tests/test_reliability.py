""" "Done" means done across a broker restart, and SIGTERM always stops the assistant.

Real mosquitto (stopped and started by the test), the simulated fleet, the
device service in-process, and `assistant run` as a process.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import pytest

from assistant.config import MqttConfig
from assistant.devices.entities import Action
from assistant.devices.mqtt.discovery_commands import percent_to_device_brightness
from assistant.devices.mqtt.service import DeviceService
from assistant.devices.registry import Registry
from assistant.errors import UserError
from assistant.simulate.fleet import Fleet
from assistant.transports.mqtt import CommandExpired
from assistant.understanding.engine import Understanding
from assistant.understanding.handlers import HANDLERS
from assistant.understanding.loader import discover
from assistant.understanding.sentences import load_templates
from tests.conftest import Broker
from tests.test_ask import home
from tests.test_discovery_live import settings_for

LIGHT = "light.kitchen_light"


@dataclass(frozen=True)
class Outcome:
    """One command: its brightness, when it was issued, and what the assistant said."""

    brightness: int
    issued: float
    action: Action | None = None
    expired: bool = False


async def _command(service: DeviceService, brightness: int) -> Outcome:
    issued = time.monotonic()
    try:
        action = await service.executor.execute(LIGHT, "set_brightness", brightness=brightness)
    except CommandExpired:
        return Outcome(brightness, issued, expired=True)
    return Outcome(brightness, issued, action)


@pytest.mark.parametrize("outage", [5.0])
async def test_a_broker_restart_during_100_commands_reports_none_done_that_was_lost(
    broker: Broker, outage: float
) -> None:
    prefix = f"rel{uuid.uuid4().hex[:6]}"
    settings = settings_for(broker, prefix)
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with (
        asyncio.timeout(120),
        Fleet(home(), mqtt, prefix=prefix) as fleet,
        DeviceService(settings, Registry()) as service,
    ):
        await service.wait_settled()
        topic = next(t for t, role in fleet.announcements[LIGHT].commands.items() if "bri" in role)
        tasks: list[asyncio.Task[Outcome]] = []
        restart: asyncio.Task[None] | None = None
        for i in range(100):
            if i == 30:
                await asyncio.to_thread(broker.stop)
                restart = asyncio.create_task(_start_after(broker, outage))
            tasks.append(asyncio.create_task(_command(service, i + 1)))
            await asyncio.sleep(0.1)
        outcomes = await asyncio.gather(*tasks)
        assert restart is not None
        await restart
        await asyncio.sleep(1.0)  # anything still in flight lands now
        await fleet.connected.wait()
        after = await service.executor.execute(LIGHT, "turn_off")
        assert after.confirmed is True  # recovered
    # What the device itself got (not the broker, nor another subscriber).
    arrived: dict[str, float] = {}
    for received in fleet.received:
        if received.topic == topic:
            arrived.setdefault(received.payload, received.at)
    ttl = mqtt.command_ttl_seconds
    done = [o for o in outcomes if o.action is not None and o.action.confirmed]
    unconfirmed = [o for o in outcomes if o.action is not None and o.action.confirmed is False]
    expired = [o for o in outcomes if o.expired]

    def payload(o: Outcome) -> str:
        return str(percent_to_device_brightness(o.brightness, 255))

    falsely_done = [o.brightness for o in done if payload(o) not in arrived]
    assert falsely_done == [], f"reported done but never delivered: {falsely_done}"
    replayed = [o.brightness for o in expired if payload(o) in arrived]
    assert replayed == [], f"reported dropped, yet delivered later: {replayed}"
    late = [o.brightness for o in outcomes if arrived.get(payload(o), 0) - o.issued > ttl + 2]
    assert late == [], f"delivered more than {ttl + 2:g} s after they were said: {late}"
    # The outage was felt, and reported; the rest went through and was confirmed.
    assert len(expired) + len(unconfirmed) >= 10
    assert len(done) >= 25  # the commands before the outage, at least
    assert len(done) + len(unconfirmed) + len(expired) == 100


async def _start_after(broker: Broker, seconds: float) -> None:
    await asyncio.sleep(seconds)
    await asyncio.to_thread(broker.start)


async def test_a_device_that_never_answers_is_reported_unconfirmed(broker: Broker) -> None:
    prefix = f"deaf{uuid.uuid4().hex[:6]}"
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with asyncio.timeout(60):
        async with Fleet(home(), mqtt, prefix=prefix) as fleet:
            await fleet.set_state("lock.front_door", "locked")
        # The fleet is gone; its retained configs and states stay.
        async with DeviceService(settings_for(broker, prefix), Registry()) as service:
            await service.wait_settled()
            action = await service.executor.execute(LIGHT, "turn_on")
            assert action.confirmed is False
            assert action.to_json()["confirmed"] is False
            # ... and the spoken reply says so instead of "done".
            templates = load_templates("en", discover().yaml_files, keep_intents=HANDLERS.names())
            understanding = Understanding(service.registry, service.executor, templates)
            name = service.registry.get(LIGHT).name  # type: ignore[union-attr]
            outcome = await understanding.process(f"turn on the {name}")
            understanding.close()
            assert [a.entity_id for a in outcome.actions] == [LIGHT]
            assert outcome.reply == f"I sent it, but the {name} hasn't answered."
    async with (
        asyncio.timeout(60),
        Fleet(home(), mqtt, prefix=prefix),
        DeviceService(settings_for(broker, prefix), Registry()) as service,
    ):
        await service.wait_settled()
        action = await service.executor.execute(LIGHT, "turn_on")
        assert action.confirmed is True
        with pytest.raises(UserError):
            await service.executor.execute("light.nope", "turn_on")


class _BlackHole:
    """A TCP listener that accepts connections and never answers: a hung broker."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)


def _config(tmp_path: Path, broker: Broker, prefix: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n[discovery]\nprefix = "{prefix}"\n'
        f'[site]\nid = "s{uuid.uuid4().hex[:6]}"\n[understanding]\nllm = "off"\n',
        encoding="utf-8",
    )
    return config


@pytest.mark.slow
@pytest.mark.parametrize("state", ["broker-gone", "broker-hung", "poisoned-config"])
async def test_sigterm_stops_run_whatever_the_connection_does(
    tmp_path: Path, broker: Broker, state: str
) -> None:
    prefix = f"term{uuid.uuid4().hex[:6]}"
    if state == "poisoned-config":
        # Once, this made the broker drop every SUBSCRIBE: reconnecting forever.
        async with aiomqtt.Client(broker.host, broker.port) as c:
            config = {"name": "Poison", "cmd_t": "p/set", "stat_t": "p/\x01state"}
            await c.publish(f"{prefix}/switch/p/config", json.dumps(config), qos=1, retain=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "assistant.cli", "run", "--config",
        str(_config(tmp_path, broker, prefix)), "--input", "-",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    seen: list[str] = []

    async def until_line(text: str) -> None:
        assert proc.stderr is not None
        while not any(text in line for line in seen):
            line = await proc.stderr.readline()
            assert line, "".join(seen)[-3000:]
            seen.append(line.decode(errors="replace"))

    hole: _BlackHole | None = None
    try:
        async with asyncio.timeout(180):
            await until_line("listening")
            await asyncio.sleep(0.5)
            if state != "poisoned-config":
                await asyncio.to_thread(broker.stop)
            if state == "broker-hung":
                hole = _BlackHole(broker.port)  # connects, then no CONNACK ever
            if state != "poisoned-config":
                await until_line("MQTT connection")  # lost; it is reconnecting now
            await asyncio.sleep(2.5)  # well into a reconnect attempt
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        async with asyncio.timeout(30):
            _, err = await proc.communicate()
        took = time.monotonic() - sent
    finally:
        if proc.returncode is None:
            proc.kill()
        if hole is not None:
            hole.sock.close()
    log = "".join(seen) + err.decode(errors="replace")
    assert proc.returncode == 0, log[-3000:]
    assert "Traceback" not in log
    assert took < 2.0, f"stopped {took:.2f} s after SIGTERM"
    if state == "poisoned-config":
        assert log.count("MQTT connected") == 1, log[-3000:]
        assert sum("p/\\x01state" in line for line in log.splitlines()) == 1, log[-3000:]
