"""One device backend for every command: `ask`, `intents test`, `devices` and `run` agree.

Real parts only: the CLI in a child process, the local fake Home Assistant
REST server, a real mosquitto, and the `Runtime` that `run` and `listen` use.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.config_file import load
from assistant.devices.backend import NO_BACKEND, open_backend
from assistant.errors import UserError
from assistant.pipeline.runtime import Runtime, RuntimeOptions
from tests.conftest import Broker
from tests.fake_homeassistant import FakeHomeAssistant, running
from tests.test_discovery_live import client
from tests.test_homeassistant import TOKEN, world

CONFIG_DEVICES = """
[[devices]]
name = "Fountain"
kind = "switch"
area = "Garden"
command_topic = "garden/fountain/set"

[[devices]]
name = "Porch Light"
kind = "light"
command_topic = "porch/light/set"
"""


def settings_of(config: Path) -> Settings:
    """The settings a command run with `--config CONFIG` reads."""
    return load(config, environ={})


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`assistant ARGS --config CONFIG` in a child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args, "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip


def ask(config: Path, text: str) -> dict[str, Any]:
    """`assistant ask TEXT --json`, parsed."""
    result = cli(config, "ask", text, "--json", "--no-llm")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def entity_ids(config: Path) -> list[str]:
    """What `assistant devices --json` lists."""
    result = cli(config, "devices", "--json")
    assert result.returncode == 0, result.stderr
    return sorted(item["entity_id"] for item in json.loads(result.stdout))


@pytest.fixture
def fake() -> Iterator[FakeHomeAssistant]:
    with running(world()) as server:
        yield server


def ha_config(tmp_path: Path, fake: FakeHomeAssistant, mqtt: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[homeassistant]\nenabled = true\nurl = "{fake.url}"\ntoken = "{TOKEN}"\n'
        f'{mqtt}\n[understanding]\nllm = "off"\n{CONFIG_DEVICES}',
        encoding="utf-8",
    )
    return config


def test_ask_acts_through_home_assistant(tmp_path: Path, fake: FakeHomeAssistant) -> None:
    config = ha_config(tmp_path, fake, "[mqtt]\nenabled = false\n")

    dry = cli(config, "intents", "test", "turn on the coffee machine", "--json", "--no-llm")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["actions"] == [
        {"entity_id": "switch.coffee_machine", "action": "turn_on", "params": {}, "confirmed": None}
    ]
    assert fake.calls == []  # `intents test` records, it does not send

    answer = ask(config, "turn on the coffee machine")
    assert answer["actions"] == [
        {"entity_id": "switch.coffee_machine", "action": "turn_on", "params": {}, "confirmed": None}
    ]
    assert fake.calls == [("switch", "turn_on", {"entity_id": "switch.coffee_machine"})]
    assert fake.state("switch.coffee_machine")["state"] == "on"

    # The [[devices]] are there too (listed and understood); without MQTT
    # nothing can carry their command, and the reply says so in one line.
    ids = entity_ids(config)
    assert {"switch.coffee_machine", "switch.fountain", "light.porch_light"} <= set(ids)
    refused = ask(config, "turn on the fountain")
    assert refused["actions"] == []
    assert "[mqtt] is disabled" in refused["reply"]
    assert len(fake.calls) == 1


async def test_home_assistant_with_mqtt_commands_config_devices_over_mqtt(
    tmp_path: Path, fake: FakeHomeAssistant, broker: Broker
) -> None:
    mqtt = f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
    settings = settings_of(ha_config(tmp_path, fake, mqtt))
    async with asyncio.timeout(30), client(broker) as c:
        await c.subscribe("garden/#")
        async with open_backend(settings) as devices:
            assert devices.backend == "homeassistant"
            assert devices.registry.get("switch.fountain") is not None
            # Discovery is Home Assistant's business here: only the [[devices]] come from MQTT.
            assert {e.source for e in devices.registry.entities()} == {"home assistant", "config"}
            sent = await devices.executor.execute("switch.fountain", "turn_on")
            assert sent.topic == "garden/fountain/set"
            await devices.executor.execute("switch.coffee_machine", "turn_on")
        message = await anext(aiter(c.messages))
        assert (str(message.topic), message.payload) == ("garden/fountain/set", b"ON")
    assert fake.calls == [("switch", "turn_on", {"entity_id": "switch.coffee_machine"})]


async def test_without_mqtt_run_ask_and_devices_agree(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mqtt]\nenabled = false\n[understanding]\nllm = "off"\n{CONFIG_DEVICES}',
        encoding="utf-8",
    )
    listed = await asyncio.to_thread(entity_ids, config)
    assert listed == ["light.porch_light", "switch.fountain"]

    answer = await asyncio.to_thread(ask, config, "turn on the fountain")
    assert answer["intent"] == "HassTurnOn"
    assert answer["actions"] == []  # nothing was sent, and it does not pretend otherwise
    assert NO_BACKEND in answer["reply"]

    options = RuntimeOptions(wake=False, speak=False, interface=False, stt=False)
    async with asyncio.timeout(120), Runtime(settings_of(config), options) as runtime:
        assert runtime.devices is not None
        assert runtime.devices.backend == "none"
        running_ids = sorted(e.entity_id for e in runtime.devices.registry.entities())
        assert running_ids == listed
        outcome = await runtime.understanding.process("turn on the fountain")
        assert outcome.intent == "HassTurnOn"
        assert outcome.actions == ()
        assert NO_BACKEND in outcome.reply


async def test_devices_fails_with_one_line_when_the_broker_is_unreachable(
    tmp_path: Path,
) -> None:
    from tests.conftest import free_port

    settings = settings_of(_write(tmp_path, f"[mqtt]\nport = {free_port()}\n"))
    with pytest.raises(UserError, match="cannot connect to the MQTT broker"):
        async with asyncio.timeout(30), open_backend(settings, reconnect=False):
            pass


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex}.toml"
    path.write_text(text, encoding="utf-8")
    return path
