"""`assistant ask` end to end: a real mosquitto, the simulated fleet, the CLI process.

The fleet announces a small home by HA discovery; `assistant ask -` learns
it (waiting for retained discovery to settle), answers each stdin line with
one JSON object, and the fleet must receive and obey the commands.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from assistant.config import MqttConfig
from assistant.simulate.fleet import Fleet
from assistant.simulate.home import Home, parse_home
from tests.conftest import Broker

HOME: dict[str, Any] = {
    "name": "Ask test home",
    "topic_root": "askhome",
    "areas": [{"name": "Kitchen"}, {"name": "Bedroom"}, {"name": "Entrance"}],
    "entities": [
        {"kind": "light", "name": "Kitchen Light", "area": "Kitchen", "features": ["brightness"]},
        {"kind": "light", "name": "Counter Light", "area": "Kitchen", "state": "on"},
        {"kind": "light", "name": "Bedroom Lamp", "area": "Bedroom", "state": "on"},
        {"kind": "fan", "name": "Kitchen Fan", "area": "Kitchen", "features": ["percentage"]},
        {"kind": "lock", "name": "Front Door", "area": "Entrance", "state": "unlocked"},
    ],
}


def home() -> Home:
    return parse_home(HOME, "test home")


def write_config(tmp_path: Path, broker: Broker, prefix: str, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[mqtt]
host = "{broker.host}"
port = {broker.port}

[discovery]
prefix = "{prefix}"
settle_seconds = 0.5
max_wait_seconds = 20

[zigbee2mqtt]
enabled = false

[understanding]
llm = "off"
{extra}
""",
        encoding="utf-8",
    )
    return config


async def run_cli(*args: str, stdin: str = "") -> tuple[int, str, str]:
    """Run `assistant ...` in a child process; (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "assistant.cli",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin.encode())
    return process.returncode or 0, out.decode(), err.decode()


async def test_ask_stdin_json_lines_reach_the_fleet(broker: Broker, tmp_path: Path) -> None:
    config = write_config(tmp_path, broker, "askstdin")
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    lines = [
        "turn on the kitchen light",
        "turn off the lights in the kitchen",
        "set the kitchen fan speed to 50%",
        "what is the capital of France",
        "turn on the garden hose",
        "lock the front door",
        "turn off the bedroom lamp and the kitchen fan",
        "turn on the kitchen light and the fan",
    ]
    async with asyncio.timeout(90), Fleet(home(), mqtt, prefix="askstdin") as fleet:
        code, out, err = await run_cli("ask", "--config", str(config), "-", stdin="\n".join(lines))
        assert code == 0, err
        results = [json.loads(line) for line in out.splitlines()]
        assert [r["text"] for r in results] == lines
        for result in results:
            assert set(result) >= {"text", "intent", "slots", "actions", "reply", "handled_by"}
            assert set(result["timings_ms"]) == {"understanding", "llm", "dispatch", "total"}
        on, off_area, fan, capital, hose, lock, compound, same_room = results
        assert on["intent"] == "HassTurnOn"
        assert on["actions"] == [
            {
                "entity_id": "light.kitchen_light",
                "action": "turn_on",
                "params": {},
                "confirmed": True,
            }
        ]
        assert {a["entity_id"] for a in off_area["actions"]} == {
            "light.kitchen_light",
            "light.counter_light",
        }
        assert fan["actions"][0]["params"] == {"percentage": 50}
        assert capital["intent"] is None
        assert capital["actions"] == []
        assert capital["handled_by"] is None
        assert "garden hose" in hose["reply"]
        assert hose["actions"] == []
        assert lock["actions"][0]["action"] == "lock"
        assert {a["entity_id"] for a in compound["actions"]} == {
            "light.bedroom_lamp",
            "fan.kitchen_fan",
        }
        assert {a["entity_id"] for a in same_room["actions"]} == {
            "light.kitchen_light",
            "fan.kitchen_fan",
        }
        # The devices obeyed, in the end state the sentences ask for.
        await fleet.wait_for_state("light.kitchen_light", "on")
        await fleet.wait_for_state("light.counter_light", "off")
        await fleet.wait_for_state("light.bedroom_lamp", "off")
        await fleet.wait_for_state("fan.kitchen_fan", "on")
        await fleet.wait_for_state("lock.front_door", "locked")
        commanded = {r.entity_id for r in fleet.received}
    assert commanded == {
        "light.kitchen_light",
        "light.counter_light",
        "light.bedroom_lamp",
        "fan.kitchen_fan",
        "lock.front_door",
    }


async def test_ask_confirmation_over_stdin(broker: Broker, tmp_path: Path) -> None:
    config = write_config(tmp_path, broker, "askconfirm")
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with asyncio.timeout(90), Fleet(home(), mqtt, prefix="askconfirm") as fleet:
        await fleet.set_state("lock.front_door", "locked")
        stdin = "unlock the front door\nno\nunlock the front door\nyes\n"
        code, out, err = await run_cli("ask", "--config", str(config), "-", stdin=stdin)
        assert code == 0, err
        asked, refused, asked_again, confirmed = [json.loads(x) for x in out.splitlines()]
        assert asked["reply"] == "Are you sure?"
        assert asked["actions"] == []
        assert refused["actions"] == []
        assert asked_again["reply"] == "Are you sure?"
        assert confirmed["actions"][0]["action"] == "unlock"
        await fleet.wait_for_state("lock.front_door", "unlocked")
        assert [r.entity_id for r in fleet.received] == ["lock.front_door"]


async def test_ask_single_sentence(broker: Broker, tmp_path: Path) -> None:
    config = write_config(tmp_path, broker, "asksingle")
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with asyncio.timeout(60), Fleet(home(), mqtt, prefix="asksingle") as fleet:
        code, out, err = await run_cli("ask", "--config", str(config), "turn off the bedroom lamp")
        assert code == 0, err
        assert out.strip() == "Turned off the light"
        await fleet.wait_for_state("light.bedroom_lamp", "off")
        code, out, _ = await run_cli(
            "ask", "--config", str(config), "--json", "is the bedroom lamp on"
        )
        answer = json.loads(out)
        assert answer["intent"] == "HassGetState"
        assert answer["reply"].startswith("No")
