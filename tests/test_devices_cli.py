"""`assistant devices` against a real broker holding retained discovery configs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

from tests.conftest import Broker, free_port
from tests.test_discovery_live import client, publish


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_devices_json_lists_retained_entities(module_broker: Broker, tmp_path: Path) -> None:
    ns = f"c{uuid.uuid4().hex[:10]}"
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, f"{ns}/light/k/config", {
            "name": None, "~": f"{ns}/k", "cmd_t": "~/set", "stat_t": "~/state",
            "dev": {"ids": ["k"], "name": "Kitchen Ceiling", "sa": "Kitchen"},
        })  # fmt: skip
        await publish(c, f"{ns}/k/state", "ON")
        await publish(c, f"{ns}/lock/front/config", {"name": "Front Door", "cmd_t": f"{ns}/f"})
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mqtt]\nhost = "{module_broker.host}"\nport = {module_broker.port}\n'
        f'[discovery]\nprefix = "{ns}"\nsettle_seconds = 0.3\n'
        f"[zigbee2mqtt]\nenabled = false\n"
        f'[[devices]]\nname = "Fountain"\nkind = "switch"\ncommand_topic = "{ns}/fountain"\n'
        f'[entities."light.kitchen_ceiling"]\naliases = ["big light"]\n',
        encoding="utf-8",
    )
    result = await asyncio.to_thread(run_cli, "devices", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert [i["entity_id"] for i in items] == [
        "light.kitchen_ceiling", "lock.front_door", "switch.fountain"]  # fmt: skip
    light = items[0]
    assert {k: light[k] for k in ("entity_id", "name", "aliases", "area", "kind", "state",
                                  "source")} == {
        "entity_id": "light.kitchen_ceiling", "name": "Kitchen Ceiling",
        "aliases": ["big light"], "area": "Kitchen", "kind": "light", "state": "on",
        "source": "discovery",
    }  # fmt: skip
    assert items[2]["source"] == "config"

    table = await asyncio.to_thread(run_cli, "devices", "--config", str(config))
    assert table.returncode == 0
    assert "Kitchen Ceiling (big light)" in table.stdout
    async with asyncio.timeout(30), client(module_broker) as c:
        for topic in (f"{ns}/light/k/config", f"{ns}/k/state", f"{ns}/lock/front/config"):
            await publish(c, topic, "")


def test_unreachable_broker_is_one_line_and_nonzero(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n', encoding="utf-8")
    result = run_cli("devices", "--json", "--config", str(config))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("assistant: cannot connect to the MQTT broker at 127.0.0.1:")
    assert "Traceback" not in result.stderr


def test_devices_json_from_the_home_assistant_backend(tmp_path: Path) -> None:
    from tests.fake_homeassistant import running
    from tests.test_homeassistant import TOKEN, world

    with running(world()) as server:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[homeassistant]\nenabled = true\nurl = "{server.url}"\ntoken = "{TOKEN}"\n'
            f'[entities."light.hallway"]\naliases = ["corridor"]\n',
            encoding="utf-8",
        )
        result = run_cli("devices", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    items = {i["entity_id"]: i for i in json.loads(result.stdout)}
    assert items["light.hallway"]["source"] == "home assistant"
    assert items["light.hallway"]["aliases"] == ["corridor"]
    assert items["light.hallway"]["state"] == "on"
    assert items["switch.coffee_machine"]["kind"] == "switch"


HOSTILE = {
    "escape": "Porch\x1b[2J\x1b]0;pwned\x07 Light",
    "surrogate": "Bad \ud800 Name",
    "huge": "x" * 60_000,
}


def _hostile_items() -> list[dict[str, object]]:
    return [
        {"entity_id": f"light.{key}", "name": name, "aliases": [name], "area": name,
         "kind": "light", "state": name, "source": "discovery", "available": True}
        for key, name in HOSTILE.items()
    ]  # fmt: skip


def test_table_escapes_and_caps_hostile_names() -> None:
    from assistant.commands.devices import table_lines

    lines = table_lines(_hostile_items())  # type: ignore[arg-type]
    text = "\n".join(lines)
    text.encode("utf-8")  # no lone surrogate survives
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "Porch\\x1b[2J\\x1b]0;pwned\\x07 Light" in text
    assert len(text) < 2_000


def test_json_output_survives_lone_surrogates_and_caps_lengths() -> None:
    from assistant.textsafe import json_safe

    text = json.dumps(json_safe(_hostile_items()), ensure_ascii=False)
    text.encode("utf-8")
    assert len(text) < 20_000
    assert json.loads(text)[0]["name"] == HOSTILE["escape"]  # JSON escapes it itself


async def test_devices_cli_with_hostile_discovered_names(
    module_broker: Broker, tmp_path: Path
) -> None:
    ns = f"h{uuid.uuid4().hex[:10]}"
    topics = []
    async with asyncio.timeout(30), client(module_broker) as c:
        for key, name in HOSTILE.items():
            topic = f"{ns}/light/{key}/config"
            topics.append(topic)
            # json.dumps writes the lone surrogate as the JSON escape "\ud800".
            await publish(c, topic, {"name": name, "cmd_t": f"{ns}/{key}/set", "uniq_id": key})
        await publish(c, f"{ns}/light/good/config", {"name": "Good Lamp", "cmd_t": f"{ns}/g"})
        topics.append(f"{ns}/light/good/config")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mqtt]\nhost = "{module_broker.host}"\nport = {module_broker.port}\n'
        f'[discovery]\nprefix = "{ns}"\nsettle_seconds = 0.3\n[zigbee2mqtt]\nenabled = false\n',
        encoding="utf-8",
    )
    try:
        for extra in ((), ("--json",)):
            result = await asyncio.to_thread(run_cli, "devices", *extra, "--config", str(config))
            assert result.returncode == 0, result.stderr
            assert "Traceback" not in result.stderr
            for out in (result.stdout, result.stderr):
                assert "\x1b" not in out
                assert "\x07" not in out
            assert len(result.stdout) < 20_000
            assert "Good Lamp" in result.stdout
            if extra:
                names = {i["name"] for i in json.loads(result.stdout)}
                assert "Good Lamp" in names
    finally:
        async with asyncio.timeout(30), client(module_broker) as c:
            for topic in topics:
                await publish(c, topic, "")
