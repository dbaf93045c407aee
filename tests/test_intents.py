"""Custom intents: one YAML + one handler in a directory are listed, testable and executed.

Uses the shipped "good night" example (tests/fixtures/intents) copied into a
temporary directory, the real CLI in child processes, and the simulated
fleet on a real mosquitto for the executed case.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from assistant.config import MqttConfig, parse
from assistant.devices.mqtt.service import DeviceService
from assistant.devices.registry import Registry
from assistant.simulate.fleet import Fleet
from assistant.understanding.check import check_file
from assistant.understanding.factory import build
from assistant.understanding.handlers import HANDLERS
from assistant.understanding.loader import discover
from tests.conftest import Broker
from tests.test_ask import home, run_cli, write_config

EXAMPLE = Path(__file__).parent / "fixtures" / "intents"


def user_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "my-intents"
    directory.mkdir()
    for name in ("goodnight.yaml", "goodnight.py"):
        shutil.copy(EXAMPLE / name, directory / name)
    return directory


def offline_config(tmp_path: Path, intents: Path) -> Path:
    config = tmp_path / "offline.toml"
    config.write_text(
        f'[mqtt]\nenabled = false\n\n[understanding]\nllm = "off"\nintents_dir = "{intents}"\n',
        encoding="utf-8",
    )
    return config


async def test_custom_intent_is_listed(tmp_path: Path) -> None:
    config = offline_config(tmp_path, user_dir(tmp_path))
    code, out, err = await run_cli("intents", "list", "--json", "--config", str(config))
    assert code == 0, err
    rows = {row["intent"]: row for row in map(json.loads, out.splitlines())}
    assert rows["GoodNight"]["sentences"] == 4
    assert rows["GoodNight"]["handler"].endswith(".good_night")
    assert "HassTurnOn" in rows
    assert "HassMediaNext" not in rows  # no handler, so not offered


async def test_custom_intent_dry_run_sends_nothing(broker: Broker, tmp_path: Path) -> None:
    intents = user_dir(tmp_path)
    config = write_config(tmp_path, broker, "intentsdry", extra=f'intents_dir = "{intents}"')
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with asyncio.timeout(60), Fleet(home(), mqtt, prefix="intentsdry") as fleet:
        code, out, err = await run_cli(
            "intents", "test", "--json", "--config", str(config), "I'm going to bed"
        )
        assert code == 0, err
        result = json.loads(out)
        assert result["intent"] == "GoodNight"
        assert result["dry_run"] is True
        assert result["reply"] == "Good night"
        assert {(a["entity_id"], a["action"]) for a in result["actions"]} == {
            ("light.kitchen_light", "turn_off"),
            ("light.counter_light", "turn_off"),
            ("light.bedroom_lamp", "turn_off"),
            ("lock.front_door", "lock"),
        }
        code, text, _ = await run_cli("intents", "test", "--config", str(config), "good night")
        assert "would:   lock lock.front_door" in text
        await asyncio.sleep(0.5)  # give a stray command time to arrive, then check none did
        assert fleet.received == []


async def test_custom_intent_is_executed(broker: Broker, tmp_path: Path) -> None:
    intents = user_dir(tmp_path)
    settings = parse(
        {
            "mqtt": {"host": broker.host, "port": broker.port},
            "discovery": {"prefix": "intentsrun", "settle_seconds": 0.5},
            "zigbee2mqtt": {"enabled": False},
            "understanding": {"llm": "off", "intents_dir": str(intents)},
        }
    )
    registry = Registry()
    async with (
        asyncio.timeout(60),
        Fleet(home(), settings.mqtt, prefix="intentsrun") as fleet,
        DeviceService(settings, registry) as service,
    ):
        await service.wait_settled()
        understanding, sources = build(settings, registry, service.executor)
        assert intents / "goodnight.yaml" in sources.yaml_files
        outcome = await understanding.process("good night")
        assert outcome.reply == "Good night"
        assert outcome.handled_by == "template"
        for light in ("light.kitchen_light", "light.counter_light", "light.bedroom_lamp"):
            await fleet.wait_for_state(light, "off")
        await fleet.wait_for_state("lock.front_door", "locked")
        understanding.close()
    assert "GoodNight" in HANDLERS.names()


async def test_check_names_file_and_line(tmp_path: Path) -> None:
    intents = user_dir(tmp_path)
    bad = intents / "broken.yaml"
    bad.write_text(
        "language: en\n"
        "intents:\n"
        "  GoodNight:\n"
        "    data:\n"
        "      - sentences:\n"
        '          - "sleep (well"\n'
        '          - "dim {brightnes} now"\n'
        "  Unhandled:\n"
        "    data:\n"
        '      - sentences: ["hello there"]\n',
        encoding="utf-8",
    )
    config = offline_config(tmp_path, intents)
    code, out, err = await run_cli("intents", "check", "--config", str(config))
    assert code == 1
    assert f"{bad}:6: GoodNight: cannot parse" in err
    assert f"{bad}:7: GoodNight: unknown list {{brightnes}}" in err
    assert f"{bad}:8: no handler registered for Unhandled" in err
    assert "goodnight.yaml" not in err  # the good file has no problem
    bad.unlink()
    code, out, err = await run_cli("intents", "check", "--config", str(config))
    assert code == 0, err
    assert "0 problem(s)" in out


def test_check_reports_yaml_syntax_line(tmp_path: Path) -> None:
    path = tmp_path / "syntax.yaml"
    path.write_text("language: en\nintents:\n  A:\n    data: [\n", encoding="utf-8")
    problems = check_file(path, ["A"])
    assert len(problems) == 1
    assert problems[0].line >= 4
    assert "not valid YAML" in problems[0].message


def test_builtin_intents_check_clean() -> None:
    builtin = Path(__file__).resolve().parents[1] / "intents"
    for path in sorted(builtin.glob("*.yaml")):
        assert check_file(path, HANDLERS.names()) == []
    assert check_file(EXAMPLE / "goodnight.yaml", ["GoodNight"]) == []


def test_entry_point_package_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    package = site / "porch_intents"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from assistant.understanding.handlers import IntentContext, intent_handler\n\n"
        "@intent_handler('PorchParty', 'Porch lights on')\n"
        "async def porch_party(ctx: IntentContext) -> str | None:\n"
        "    return 'Party on the porch'\n",
        encoding="utf-8",
    )
    (package / "porch.yaml").write_text(
        "language: en\nintents:\n  PorchParty:\n    data:\n"
        "      - sentences: ['[start the] porch party']\n",
        encoding="utf-8",
    )
    info = site / "porch_intents-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: porch-intents\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[assistant.intents]\nporch = porch_intents\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(site))
    sources = discover()
    assert "porch_intents" in sources.modules
    assert (package / "porch.yaml").resolve() in sources.yaml_files
    assert "PorchParty" in HANDLERS.names()
