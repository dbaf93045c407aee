"""Hostile device configs on the broker: a borrowed lock topic, 300+ poisoned retained configs.

Real mosquitto, the simulated fleet, and the assistant as a process (`ask -`,
`devices --json`) or in-process (the device service).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest

from assistant.config import MqttConfig
from assistant.devices.mqtt.service import DeviceService
from assistant.devices.registry import Registry
from assistant.simulate import hostile
from assistant.simulate.fleet import Fleet
from tests.conftest import Broker
from tests.test_ask import home, run_cli, write_config
from tests.test_discovery_live import client, publish, settings_for, until


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class AskProcess:
    """`assistant ask -` as a child process, one line in, one JSON object out."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stderr: list[str] = []
        self._drain = asyncio.create_task(self._read_stderr())

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.stderr.append(line.decode(errors="replace"))

    async def ask(self, text: str) -> dict[str, object]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(text.encode() + b"\n")
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        assert line, "".join(self.stderr)[-3000:]
        answer: dict[str, object] = json.loads(line)
        return answer

    async def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        code = await self.process.wait()
        await self._drain
        return code


@asynccontextmanager
async def ask_process(config: Path) -> AsyncIterator[AskProcess]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "assistant.cli", "ask", "--config", str(config), "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    asker = AskProcess(process)
    try:
        yield asker
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _lock_topic(fleet: Fleet) -> str:
    commands = fleet.announcements["lock.front_door"].commands
    return next(iter(commands))


async def test_a_spoofed_config_borrowing_the_locks_topic_unlocks_nothing(
    broker: Broker, tmp_path: Path
) -> None:
    prefix = f"spoof{uuid.uuid4().hex[:6]}"
    config = write_config(tmp_path, broker, prefix)
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with asyncio.timeout(90), Fleet(home(), mqtt, prefix=prefix) as fleet:
        await fleet.set_state("lock.front_door", "locked")
        async with client(broker) as c:
            # "light" sorts before "lock": the fake arrives first on every start.
            await publish(c, f"{prefix}/light/porch/config", {
                "name": "Porch Light", "cmd_t": _lock_topic(fleet),
                "pl_on": "UNLOCK", "pl_off": "LOCK",
            })  # fmt: skip
        stdin = "turn on the porch light\nturn off the kitchen light\n"
        code, out, err = await run_cli("ask", "--config", str(config), "-", stdin=stdin)
        assert code == 0, err
        porch, kitchen = [json.loads(line) for line in out.splitlines()]
        assert porch["actions"] == []
        assert kitchen["actions"][0]["entity_id"] == "light.kitchen_light"
        await fleet.wait_for_state("light.kitchen_light", "off")
        refusals = [line for line in err.splitlines() if "light.porch_light" in line]
        assert len(refusals) == 1, err
        assert "lock.front_door" in refusals[0]
        assert fleet.states["lock.front_door"].state == "locked"
        assert "lock.front_door" not in {r.entity_id for r in fleet.received}


@pytest.mark.parametrize("lock_first", [True, False])
async def test_a_sensitive_entity_keeps_its_command_topic_whoever_came_first(
    module_broker: Broker, caplog: pytest.LogCaptureFixture, lock_first: bool
) -> None:
    ns = f"c{uuid.uuid4().hex[:10]}"
    lock = {"name": "Front Door", "cmd_t": f"{ns}/door/set", "stat_t": f"{ns}/door/state"}
    fake = {"name": "Porch Light", "cmd_t": f"{ns}/door/set", "pl_on": "UNLOCK"}
    other = {"name": "Lamp", "cmd_t": f"{ns}/lamp/set"}
    second = {"name": "Second Lamp", "cmd_t": f"{ns}/lamp/set"}
    registry = Registry()
    caplog.set_level(logging.WARNING)
    async with asyncio.timeout(30), client(module_broker) as c:
        order = [("lock/door", lock), ("light/porch", fake)]
        for topic, payload in order if lock_first else order[::-1]:
            await publish(c, f"{ns}/{topic}/config", payload)
            await asyncio.sleep(0.2)  # delivered in this order
        await publish(c, f"{ns}/light/lamp/config", other)
        await publish(c, f"{ns}/light/second/config", second)
        async with DeviceService(settings_for(module_broker, ns), registry) as service:
            await service.wait_settled()
            assert "lock.front_door" in registry
            assert "light.porch_light" not in registry
            assert "light.lamp" in registry  # two ordinary lights: the first keeps it
            assert "light.second_lamp" not in registry
            lines = [r.getMessage() for r in caplog.records if "porch_light" in r.getMessage()]
            assert len(lines) == 1
            assert "lock.front_door" in lines[0]
            lines = [r.getMessage() for r in caplog.records if "second_lamp" in r.getMessage()]
            assert len(lines) == 1
            assert "light.lamp" in lines[0]


async def test_300_hostile_configs_leave_the_assistant_up_and_small(
    broker: Broker, tmp_path: Path
) -> None:
    prefix, root = f"hostile{uuid.uuid4().hex[:6]}", f"evil{uuid.uuid4().hex[:6]}"
    config = write_config(tmp_path, broker, prefix)
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with (
        asyncio.timeout(240),
        Fleet(home(), mqtt, prefix=prefix) as fleet,
        ask_process(config) as asker,
    ):
        first = await asker.ask("turn on the kitchen light")
        assert first["actions"], first
        await fleet.wait_for_state("light.kitchen_light", "on")
        before = _rss_kb(asker.process.pid)
        bad = hostile.configs(prefix, root, borrowed_topic=_lock_topic(fleet))
        assert len(bad) >= 300
        async with aiomqtt.Client(broker.host, broker.port) as c:
            for item in bad:
                await c.publish(item.topic, item.payload, qos=1, retain=True)
            # The borrowed topic is the last config: once refused, all were seen.
            await until(lambda: any("light.porch_light" in line for line in asker.stderr))
            await asyncio.sleep(0.5)  # their subscriptions
            for topic, payload in hostile.states(root):
                await c.publish(topic, payload, qos=1, retain=True)
        for sentence, entity_id, state in [
            ("turn off the kitchen light", "light.kitchen_light", "off"),
            ("turn on the kitchen light", "light.kitchen_light", "on"),
            ("lock the front door", "lock.front_door", "locked"),
            ("turn on the porch light", None, None),
            ("turn off the kitchen light", "light.kitchen_light", "off"),
        ]:
            answer = await asker.ask(sentence)
            actions = answer["actions"]
            assert isinstance(actions, list)
            if entity_id is None:
                assert actions == [], answer
                continue
            assert [a["entity_id"] for a in actions] == [entity_id], answer
            assert actions[0]["confirmed"] is True, answer
            await fleet.wait_for_state(entity_id, state)
        after = _rss_kb(asker.process.pid)
        assert await asker.close() == 0
    log = "".join(asker.stderr)
    # One connection for the whole run: never dropped and made again.  (`ask`
    # first probes the broker with a short-lived client of its own.)
    service_connects = [
        line
        for line in log.splitlines()
        if "MQTT connected" in line and " as assistant-ask-" not in line
    ]
    assert len(service_connects) == 1, log[-3000:]
    assert "Traceback" not in log
    assert after - before < 50 * 1024, f"RSS grew from {before} kB to {after} kB"
    assert "lock.front_door" not in {r.entity_id for r in fleet.received[1:3]}

    # A fresh process meets every hostile config at once, retained.
    async with asyncio.timeout(120), Fleet(home(), mqtt, prefix=prefix):
        code, out, err = await run_cli("devices", "--config", str(config), "--json")
    assert code == 0, err[-3000:]
    assert "Traceback" not in err
    listed = {item["entity_id"] for item in json.loads(out)}
    assert {"light.kitchen_light", "lock.front_door", "fan.kitchen_fan"} <= listed
    assert "light.porch_light" not in listed


async def test_a_topic_the_broker_drops_the_connection_over_is_dropped_alone(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.transports import mqtt_subscriptions
    from assistant.transports.mqtt import MqttConnection

    # Let a filter that mosquitto disconnects for reach it, as a check that
    # missed something would.
    monkeypatch.setattr(mqtt_subscriptions, "topic_problem", lambda *a, **k: None)
    rejected: list[str] = []
    got: list[bytes] = []
    async with (
        asyncio.timeout(60),
        MqttConnection(MqttConfig(host=broker.host, port=broker.port)) as conn,
    ):
        for index in range(30):
            conn.subscribe(f"good/{index}", lambda m: got.append(m.payload))
        conn.subscribe("bad/\x01", lambda m: None, lambda t, reason: rejected.append(t))
        await until(lambda: bool(rejected))
        await conn.wait_subscribed()
        assert rejected == ["bad/\x01"]
        async with aiomqtt.Client(broker.host, broker.port) as other:
            for index in range(30):
                await other.publish(f"good/{index}", "x", qos=1)
        await until(lambda: len(got) == 30)
        connections = conn.connections
        await asyncio.sleep(1.0)
        assert conn.connected
        assert conn.connections == connections  # it stays up now


async def test_leaving_the_connection_while_the_broker_drops_it_never_hangs(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.transports import mqtt_subscriptions
    from assistant.transports.mqtt import MqttConnection

    # A subscription mosquitto drops the connection over: the stop arrives
    # at every point of connect, SUBSCRIBE, drop and reconnect in turn.
    monkeypatch.setattr(mqtt_subscriptions, "topic_problem", lambda *a, **k: None)
    config = MqttConfig(host=broker.host, port=broker.port)
    for step in range(16):
        async with asyncio.timeout(5):  # a swallowed stop would hang here
            async with MqttConnection(config) as conn:
                conn.subscribe("good/x", lambda m: None)
                conn.subscribe("bad/\x01", lambda m: None)
                await asyncio.sleep(0.03 * step)
