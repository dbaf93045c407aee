"""MqttExecutor: bad calls, optimistic state, retain, and expiry while the broker is away."""

from __future__ import annotations

import asyncio
import uuid

import aiomqtt
import pytest

from assistant.devices.mqtt.service import DeviceService
from assistant.devices.registry import Registry
from assistant.errors import UserError
from assistant.transports.mqtt import CommandExpired
from tests.conftest import Broker
from tests.test_discovery_live import client, publish, settings_for, until


async def test_bad_calls_are_one_line_user_errors(module_broker: Broker) -> None:
    ns = f"e{uuid.uuid4().hex[:10]}"
    registry = Registry()
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, f"{ns}/sensor/t/config", {"name": "T", "stat_t": f"{ns}/t"})
        await publish(c, f"{ns}/light/l/config", {"name": "L", "cmd_t": f"{ns}/l"})
        async with DeviceService(settings_for(module_broker, ns), registry) as service:
            await service.wait_settled()
            run = service.executor.execute
            cases = [
                (run("light.nope", "turn_on"), "unknown entity 'light.nope'"),
                (run("light.l", "explode"), "unknown action 'explode'"),
                (run("sensor.t", "turn_on"), r"sensor.t \(sensor\) does not support 'turn_on'"),
                (run("light.l", "set_brightness", brightness=50), "light.l cannot dim"),
                (run("light.l", "set_color", color="plaid"), "unknown colour 'plaid'"),
                (run("light.l", "set_color", color="red"), "light.l cannot change colour"),
            ]
            for call, message in cases:
                with pytest.raises(UserError, match=message) as info:
                    await call
                assert "\n" not in str(info.value)


async def test_optimistic_entities_get_their_predicted_state(module_broker: Broker) -> None:
    ns = f"e{uuid.uuid4().hex[:10]}"
    registry = Registry()
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, f"{ns}/switch/blind/config", {"name": "Blind", "cmd_t": f"{ns}/b"})
        await publish(
            c,
            f"{ns}/switch/opt/config",
            {"name": "Opt", "cmd_t": f"{ns}/o", "stat_t": f"{ns}/o/s", "opt": True},
        )
        await publish(c, f"{ns}/switch/real/config", {"name": "Real", "cmd_t": f"{ns}/r",
                                                      "stat_t": f"{ns}/r/s"})  # fmt: skip
        async with DeviceService(settings_for(module_broker, ns), registry) as service:
            await service.wait_settled()
            for entity_id in ("switch.blind", "switch.opt", "switch.real"):
                await service.executor.execute(entity_id, "turn_on")
            assert registry.state("switch.blind").state == "on"  # no state topic
            assert registry.state("switch.opt").state == "on"  # optimistic: true
            assert registry.state("switch.real").state is None  # waits for the device
            await service.executor.execute("switch.blind", "toggle")
            assert registry.state("switch.blind").state == "off"


async def test_retain_flag_is_honoured(module_broker: Broker) -> None:
    ns = f"e{uuid.uuid4().hex[:10]}"
    registry = Registry()
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, f"{ns}/switch/r/config", {"name": "R", "cmd_t": f"{ns}/r", "ret": True})
        async with DeviceService(settings_for(module_broker, ns), registry) as service:
            await service.wait_settled()
            await service.executor.execute("switch.r", "turn_on")
        async with aiomqtt.Client(module_broker.host, module_broker.port) as late:
            await late.subscribe(f"{ns}/r", qos=1)
            message = await anext(aiter(late.messages))
            assert (message.payload, message.retain) == (b"ON", True)
        await publish(c, f"{ns}/r", "")


async def test_a_command_the_broker_never_sees_expires_with_a_spoken_reason(
    broker: Broker,
) -> None:
    ns = f"e{uuid.uuid4().hex[:10]}"
    registry = Registry()
    settings = settings_for(broker, ns, mqtt={"host": broker.host, "port": broker.port,
                                              "command_ttl_seconds": 0.5})  # fmt: skip
    async with asyncio.timeout(30), client(broker) as c:
        await publish(c, f"{ns}/light/k/config", {"name": "Kitchen", "cmd_t": f"{ns}/k"})
    async with asyncio.timeout(30), DeviceService(settings, registry) as service:
        await service.wait_settled()
        await asyncio.to_thread(broker.stop)
        await until(lambda: not service.connection.connected)
        with pytest.raises(CommandExpired, match=f"command to {ns}/k not sent") as info:
            await service.executor.execute("light.kitchen", "turn_on")
        assert isinstance(info.value, UserError)
        await asyncio.to_thread(broker.start)
        await service.connection.wait_connected()
        assert "light.kitchen" in registry  # the registry outlives the outage
