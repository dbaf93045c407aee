"""`[areas."<name>"] floor`: floors that discovery cannot carry, used by sentences."""

from __future__ import annotations

import asyncio
import uuid

from assistant.config import parse
from assistant.devices.mqtt.service import DeviceService
from assistant.devices.registry import Registry
from assistant.understanding.factory import build
from tests.conftest import Broker
from tests.test_discovery_live import client, publish


async def test_floor_from_config_reaches_entities_and_sentences(module_broker: Broker) -> None:
    ns = f"f{uuid.uuid4().hex[:10]}"
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, f"{ns}/light/lamp/config", {
            "name": None, "cmd_t": f"{ns}/lamp/set", "stat_t": f"{ns}/lamp/state",
            "dev": {"ids": ["lamp"], "name": "Desk Lamp", "sa": "Office"},
        })  # fmt: skip
    settings = parse({
        "mqtt": {"host": module_broker.host, "port": module_broker.port},
        "discovery": {"prefix": ns, "settle_seconds": 0.3},
        "zigbee2mqtt": {"enabled": False},
        "understanding": {"llm": "off"},
        "areas": {"Office": {"floor": "Upstairs"}},
    })  # fmt: skip
    registry = Registry()
    async with asyncio.timeout(30), DeviceService(settings, registry) as service:
        await service.wait_settled()
        assert registry.floor_of("Office") == "Upstairs"
        lamp = registry.get("light.desk_lamp")
        assert lamp is not None
        assert lamp.floor == "Upstairs"
        understanding, _ = build(settings, registry, service.executor, entry_points=False)
        async with client(module_broker) as watcher:
            await watcher.subscribe(f"{ns}/lamp/set")
            outcome = await understanding.process("turn on the lights upstairs")
            assert outcome.intent == "HassTurnOn"
            assert [a.entity_id for a in outcome.actions] == ["light.desk_lamp"]
            message = await anext(aiter(watcher.messages))
            assert message.payload == b"ON"
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, f"{ns}/light/lamp/config", "")
