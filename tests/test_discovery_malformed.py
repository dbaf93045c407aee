"""Malformed discovery input: each message skipped with one warning line, the registry unharmed."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import pytest

from assistant.devices.mqtt.service import DeviceService
from assistant.devices.registry import Registry
from tests.conftest import Broker
from tests.test_discovery_live import client, publish, settings_for, until


async def test_malformed_configs_are_skipped_with_one_warning_each(
    module_broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    ns = f"m{uuid.uuid4().hex[:10]}"
    good = {"name": "Lamp", "cmd_t": f"{ns}/lamp/set", "stat_t": f"{ns}/lamp/state",
            "obj_id": "lamp"}  # fmt: skip
    bad: dict[str, bytes] = {
        f"{ns}/light/badjson/config": b'{"name": "x", "cmd_t": ',
        f"{ns}/light/nocmd/config": json.dumps({"name": "No command"}).encode(),
        f"{ns}/sensor/nostate/config": json.dumps({"name": "No state"}).encode(),
        f"{ns}/heater/x/config": json.dumps({"name": "x", "cmd_t": "h"}).encode(),
        f"{ns}/switch/huge/config": json.dumps({"name": "x" * 1_000_000, "cmd_t": "h"}).encode(),
        f"{ns}/switch/own/config": json.dumps(
            {"name": "x", "cmd_t": "assistant/kitchen/say"}).encode(),
        f"{ns}/switch/ownstate/config": json.dumps(
            {"name": "x", "cmd_t": f"{ns}/y", "stat_t": "assistant/#"}).encode(),
        f"{ns}/sensor/prefix/config": json.dumps({"name": "x", "stat_t": f"{ns}/#"}).encode(),
        f"{ns}/switch/loop/config": json.dumps(
            {"name": "x", "cmd_t": f"{ns}/switch/loop/config"}).encode(),
        f"{ns}/sensor/tpl/config": json.dumps(
            {"name": "x", "stat_t": "s", "val_tpl": "{{ value_json. }}"}).encode(),
        f"{ns}/switch/list/config": b"[1, 2, 3]",
        f"{ns}/light/tmpl/config": json.dumps(
            {"name": "x", "schema": "template", "cmd_t": "t"}).encode(),
        # a broken update of a known entity must leave the old one in place
        f"{ns}/light/lamp/config": json.dumps({"name": "Lamp", "bri_scl": -1}).encode(),
    }  # fmt: skip
    registry = Registry()
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, f"{ns}/light/lamp/config", good)
        await publish(c, f"{ns}/lamp/state", "ON")
        async with DeviceService(settings_for(module_broker, ns), registry) as service:
            await service.wait_settled()
            await until(lambda: registry.state("light.lamp").state == "on")
            before = (registry.entities(), registry.state("light.lamp"))
            caplog.clear()
            with caplog.at_level(logging.WARNING):
                for topic, payload in bad.items():
                    await c.publish(topic, payload, qos=1, retain=False)
                await publish(c, f"{ns}/switch/sentinel/config", {"name": "S", "cmd_t": "s"},
                              retain=False)  # fmt: skip
                await until(lambda: "switch.s" in registry)
            registry.remove("switch.s")
            assert (registry.entities(), registry.state("light.lamp")) == before
            # the old lamp still works
            action = await service.executor.execute("light.lamp", "turn_off")
            assert action.payload == "OFF"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    by_topic = {topic: [w for w in warnings if topic in w.getMessage()] for topic in bad}
    assert {topic: len(found) for topic, found in by_topic.items()} == dict.fromkeys(bad, 1)
    assert len(warnings) == len(bad)
    assert all("\n" not in w.getMessage() for w in warnings)


async def test_bad_state_payloads_keep_the_last_state(
    module_broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    ns = f"m{uuid.uuid4().hex[:10]}"
    registry = Registry()
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, f"{ns}/sensor/t/config", {"name": "T", "stat_t": f"{ns}/t",
                                                   "val_tpl": "{{ value_json.t }}"})  # fmt: skip
        async with DeviceService(settings_for(module_broker, ns), registry) as service:
            await service.wait_settled()
            await publish(c, f"{ns}/t", '{"t": 20}', retain=False)
            await until(lambda: registry.state("sensor.t").state == "20")
            with caplog.at_level(logging.WARNING):
                await publish(c, f"{ns}/t", "not json", retain=False)
                await publish(c, f"{ns}/t", b"\xff\xfe".decode("latin-1"), retain=False)
                await publish(c, f"{ns}/t", '{"t": 21}', retain=False)
                await until(lambda: registry.state("sensor.t").state == "21")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("sensor.t: state" in w.getMessage() for w in warnings)
