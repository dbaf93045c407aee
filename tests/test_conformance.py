"""Home Assistant's English intent tests, end to end over a real broker.

The suite's home (its fixtures plus the devices its case files add) runs as
the simulated fleet, announcing itself by HA MQTT discovery on a private
mosquitto.  The assistant learns it through the DeviceService, understands
every sentence of the supported intents, and acts through the MQTT executor;
a case passes when the intent and slots are as expected and, for commands,
the fleet received a command for exactly the devices meant and changed
state accordingly.  The pass rate per intent is printed; the test requires
98 % overall.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from assistant.config import Settings, parse
from assistant.devices.entities import Action, EntityState
from assistant.devices.mqtt.service import DeviceService
from assistant.devices.registry import Registry
from assistant.simulate.fleet import Fleet
from assistant.simulate.ha_fixtures import convert_ha_fixtures
from assistant.understanding.factory import build
from tests.conformance_home import (
    CONTEXT_AREA,
    OUT_OF_SCOPE,
    OUT_OF_SCOPE_FILES,
    SUITE,
    load_cases,
    merged_fixtures,
)
from tests.conformance_run import run_suite
from tests.conftest import Broker

THRESHOLD = 0.98

pytestmark = pytest.mark.skipif(not SUITE.is_dir(), reason="conformance suite not present")


def settings_for(broker: Broker, prefix: str, **understanding: Any) -> Settings:
    """Settings pointing at the test broker, with a private discovery prefix."""
    return parse(
        {
            "mqtt": {"host": broker.host, "port": broker.port},
            "discovery": {"prefix": prefix, "settle_seconds": 0.5, "max_wait_seconds": 20},
            "zigbee2mqtt": {"enabled": False},
            "understanding": {"llm": "off", **understanding},
        }
    )


def _state_ok(action: Action, state: EntityState) -> bool:
    """The device's state after the command says it was obeyed."""
    attrs = state.attributes
    verb, params = action.action, action.params
    expected = {
        "turn_on": {"on", "heat", "cool", "auto", "heat_cool"},
        "turn_off": {"off"},
        "open": {"open", "opening"},
        "close": {"closed", "closing"},
        "lock": {"locked", "locking"},
        "unlock": {"unlocked", "unlocking", "open"},
        "start": {"cleaning"},
        "return_to_base": {"returning", "docked"},
    }
    if verb in expected:
        return (state.state or "") in expected[verb]
    if verb in ("activate", "press"):
        return True  # stateless: receiving the command is all there is
    if verb == "set_position":
        return int(attrs.get("position", -1)) == int(params["position"])
    if verb == "set_fan_speed":
        return abs(int(attrs.get("percentage", -100)) - int(params["percentage"])) <= 1
    if verb == "set_temperature":
        return float(attrs.get("temperature", -1000)) == float(params["temperature"])
    if verb == "set_brightness":
        return (
            abs(round(int(attrs.get("brightness", -1000)) * 100 / 255) - params["brightness"]) <= 1
        )
    return state.state == "on"  # set_color: a light shows a colour only when on


def delivery_check(fleet: Fleet) -> Any:
    """A DeliveryCheck: the fleet got commands for exactly these devices and obeyed."""
    seen = [len(fleet.received)]

    async def delivered(actions: Sequence[Action]) -> str | None:
        wanted = {a.entity_id for a in actions}
        try:
            async with asyncio.timeout(5):
                while True:
                    got = {r.entity_id for r in fleet.received[seen[0] :]}
                    if wanted <= got:
                        break
                    await fleet.wait_for_commands(len(fleet.received) + 1)
                for action in actions:
                    await fleet.wait_for_state(
                        action.entity_id, lambda s, a=action: _state_ok(a, s)
                    )
        except TimeoutError:
            got = {r.entity_id for r in fleet.received[seen[0] :]}
            return f"fleet received {sorted(got)}, wanted {sorted(wanted)}"
        finally:
            seen[0] = len(fleet.received)
        extra = {r.entity_id for r in fleet.received[seen[0] - 0 :]} - wanted
        return f"fleet also received {sorted(extra)}" if extra else None

    return delivered


async def test_ha_intents_conformance(broker: Broker) -> None:
    settings = settings_for(broker, "conformance", area=CONTEXT_AREA)
    home = convert_ha_fixtures(merged_fixtures()).home
    cases = load_cases()
    registry = Registry()
    async with (
        asyncio.timeout(240),
        Fleet(home, settings.mqtt, prefix="conformance") as fleet,
        DeviceService(settings, registry) as service,
    ):
        await service.wait_settled()
        # Discovery carries areas but not floors; a user states them in
        # the config, the test takes them from the home.
        for area in home.areas:
            if area.floor:
                registry.set_floor(area.name, area.floor)
        assert len(registry) >= len(home.entities) - 5, "discovery incomplete"
        understanding, _ = build(settings, registry, service.executor, entry_points=False)
        try:
            score = await run_suite(understanding, cases, delivery_check(fleet))
        finally:
            understanding.close()
    report = [score.table(), "", "Out of scope:"]
    report += [f"  {intent}: {why}" for intent, why in OUT_OF_SCOPE.items()]
    report += [f"  {file}: {why}" for file, why in OUT_OF_SCOPE_FILES.items()]
    report += ["", "Failures:"]
    report += [f"  {c.file}: {c.sentence!r}: {p}" for c, p in score.failures]
    print("\n".join(report))
    assert sum(score.total.values()) >= 800
    assert score.rate() >= THRESHOLD, "\n".join(report)
