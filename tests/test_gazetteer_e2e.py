"""The gazetteer stage end to end: `assistant ask` over a real broker and the simulated fleet.

Templates first, then the gazetteer: a misheard name and "turn it off" reach
the right device; a misheard name two devices share is answered with a
question, and nothing moves.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from assistant.config import MqttConfig
from assistant.simulate import Fleet, load_example_home
from assistant.simulate.home import parse_home
from tests.conftest import Broker
from tests.test_ask import run_cli, write_config


async def test_misheard_names_and_follow_ups_reach_the_fleet(
    broker: Broker, tmp_path: Path
) -> None:
    config = write_config(tmp_path, broker, "gazask")
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    lines = [
        "turn on the kitchen sealing light",  # misheard: only the gazetteer reads it
        "turn it off",  # follow-up on the gazetteer's own target
        "turn on the desk lamp",  # templates
        "turn it off",  # follow-up on the templates' target
        "set the reading lump to 40 percent",
        "what is the capital of France",
    ]
    async with asyncio.timeout(120), Fleet(load_example_home(), mqtt, prefix="gazask") as fleet:
        await fleet.set_state("light.desk_lamp", "off")
        code, out, err = await run_cli("ask", "--config", str(config), "-", stdin="\n".join(lines))
        assert code == 0, err
        on, off, desk_on, desk_off, lamp, capital = [json.loads(x) for x in out.splitlines()]
        assert on["handled_by"] == "gazetteer"
        assert on["actions"] == [
            {
                "entity_id": "light.kitchen_ceiling",
                "action": "turn_on",
                "params": {},
                "confirmed": True,
            }
        ]
        assert off["handled_by"] == "gazetteer"
        assert off["actions"] == [
            {
                "entity_id": "light.kitchen_ceiling",
                "action": "turn_off",
                "params": {},
                "confirmed": True,
            }
        ]
        assert desk_on["handled_by"] == "template"
        assert desk_off["actions"] == [
            {"entity_id": "light.desk_lamp", "action": "turn_off", "params": {}, "confirmed": True}
        ]
        assert lamp["actions"] == [
            {
                "entity_id": "light.reading_lamp",
                "action": "set_brightness",
                "params": {"brightness": 40},
                "confirmed": True,
            }
        ]
        assert "Did you mean" not in lamp["reply"]
        assert capital["actions"] == []
        await fleet.wait_for_state("light.kitchen_ceiling", "off")
        await fleet.wait_for_state("light.reading_lamp", "on")
        await fleet.wait_for_state("light.desk_lamp", "off")
        commanded = {r.entity_id for r in fleet.received}
    assert commanded == {"light.kitchen_ceiling", "light.desk_lamp", "light.reading_lamp"}


TWO_CEILINGS: dict[str, Any] = {
    "name": "Two ceilings",
    "topic_root": "twoceil",
    "areas": [{"name": "Kitchen"}, {"name": "Bedroom"}],
    "entities": [
        {
            "kind": "light",
            "name": "Ceiling Light",
            "id": "light.kitchen_ceiling",
            "area": "Kitchen",
        },
        {
            "kind": "light",
            "name": "Ceiling Light",
            "id": "light.bedroom_ceiling",
            "area": "Bedroom",
        },
    ],
}


async def test_a_misheard_shared_name_asks_which_one(broker: Broker, tmp_path: Path) -> None:
    config = write_config(tmp_path, broker, "gazwhich")
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    home = parse_home(TWO_CEILINGS, "test home")
    async with asyncio.timeout(90), Fleet(home, mqtt, prefix="gazwhich") as fleet:
        stdin = "turn on the sealing light\nturn on the sealing light in the bedroom\n"
        code, out, err = await run_cli("ask", "--config", str(config), "-", stdin=stdin)
        assert code == 0, err
        asked, done = [json.loads(x) for x in out.splitlines()]
        assert asked["reply"] == "Which one: Ceiling Light in Bedroom or Ceiling Light in Kitchen?"
        assert asked["actions"] == []
        assert done["actions"] == [
            {
                "entity_id": "light.bedroom_ceiling",
                "action": "turn_on",
                "params": {},
                "confirmed": True,
            }
        ]
        await fleet.wait_for_state("light.bedroom_ceiling", "on")
        assert [r.entity_id for r in fleet.received] == ["light.bedroom_ceiling"]
