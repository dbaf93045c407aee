"""`assistant listen` end to end: espeak-ng recordings -> wake word -> whisper ->
templates -> the simulated fleet over a real mosquitto -> spoken reply."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.audio.wav import read_wav
from assistant.config import MqttConfig
from assistant.simulate import Fleet, load_example_home
from tests.conftest import Broker
from tests.pipeline_support import spoken

pytestmark = pytest.mark.slow

# (spoken text, espeak-ng voice, expected (entity_id, action) sent to the fleet)
COMMANDS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("turn on the kitchen light", "en-us",
     [("light.kitchen_ceiling", "turn_on"), ("light.kitchen_counter_strip", "turn_on")]),
    ("turn off the kitchen light", "en-gb",
     [("light.kitchen_ceiling", "turn_off"), ("light.kitchen_counter_strip", "turn_off")]),
    ("turn on the reading lamp", "en-gb", [("light.reading_lamp", "turn_on")]),
    ("set the reading lamp to 40 percent", "en-us", [("light.reading_lamp", "set_brightness")]),
    ("set the bedroom ceiling brightness to 20 percent", "en-gb",
     [("light.bedroom_ceiling", "set_brightness")]),
    ("turn off the living room ceiling", "en-us+m3", [("light.living_room_ceiling", "turn_off")]),
    ("turn on the hallway light", "en-us", [("light.hallway_light", "turn_on")]),
    ("turn on the garden lights", "en-us", [("light.garden_lights", "turn_on")]),
    ("turn on the bedside lamp", "en-gb-x-rp", [("light.bedside_lamp", "turn_on")]),
    ("turn off the garage light", "en-gb-x-rp", [("light.garage_light", "turn_off")]),
    ("turn on the big light", "en-us", [("light.kitchen_ceiling", "turn_on")]),
    ("turn on the coffee machine", "en-us", [("switch.coffee_machine", "turn_on")]),
    ("turn off the monitor plug", "en-gb", [("switch.monitor_plug", "turn_off")]),
    ("turn on the coffee machine", "en-us+m1", [("switch.coffee_machine", "turn_on")]),
    ("turn on the ceiling fan", "en-us", [("fan.living_room_ceiling_fan", "turn_on")]),
    ("set the ceiling fan speed to 50 percent", "en-us",
     [("fan.living_room_ceiling_fan", "set_fan_speed")]),
    ("close the living room blinds", "en-us", [("cover.living_room_blinds", "close")]),
    ("set the living room blinds to 30 percent", "en-gb",
     [("cover.living_room_blinds", "set_position")]),
    ("close the garage door", "en-us", [("cover.garage_door", "close")]),
    ("lock the front door", "en-us", [("lock.front_door", "lock")]),
    ("set the thermostat to 19 degrees", "en-gb-x-rp", [("climate.thermostat", "set_temperature")]),
    ("start the robot vacuum", "en-gb", [("vacuum.robot_vacuum", "start")]),
    ("activate movie time", "en-us", [("scene.movie_time", "activate")]),
    ("press the doorbell", "en-us", [("button.doorbell", "press")]),
    ("open the garden sprinkler", "en-gb", [("valve.garden_sprinkler", "open")]),
    ("close the garden sprinkler", "en-gb", [("valve.garden_sprinkler", "close")]),
    ("turn off all the lights in the living room", "en-us",
     [("light.living_room_ceiling", "turn_off"), ("light.reading_lamp", "turn_off"),
      ("light.tv_backlight", "turn_off")]),
    ("turn on the coffee machine", "en-gb", [("switch.coffee_machine", "turn_on")]),
    ("turn off the hallway light", "en-us", [("light.hallway_light", "turn_off")]),
    ("turn off the reading lamp", "en-gb", [("light.reading_lamp", "turn_off")]),
]  # fmt: skip


def _config(tmp_path: Path, broker: Broker, prefix: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[mqtt]
host = "{broker.host}"
port = {broker.port}

[discovery]
prefix = "{prefix}"

[understanding]
llm = "off"

[entities."light.kitchen_ceiling"]
aliases = ["big light"]
""",
        encoding="utf-8",
    )
    return config


async def _listen(
    config: Path, args: list[str], stdin: str | None = None, limit: float = 600
) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("ASSISTANT_MQTT_HOST", None)
    env.pop("ASSISTANT_MQTT_PORT", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "assistant.cli",
        "listen",
        "--config",
        str(config),
        "--json",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    async with asyncio.timeout(limit):
        out, err = await proc.communicate(stdin.encode() if stdin else None)
    assert proc.returncode == 0, err.decode()[-2000:]
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def _is_speech(path: Path) -> bool:
    samples = read_wav(path).astype(np.float32)
    if samples.size < 16000 * 0.5:
        return False
    rms = float(np.sqrt(np.mean(samples**2)))
    return rms > 500.0


async def test_okay_nabu_turn_on_the_kitchen_light(tmp_path: Path, broker: Broker) -> None:
    prefix = f"ha-{uuid.uuid4().hex[:6]}"
    wav = spoken(tmp_path / "kitchen.wav", "turn on the kitchen light")
    replies = tmp_path / "replies"
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with Fleet(load_example_home(), mqtt, prefix) as fleet:
        assert fleet.states["light.kitchen_ceiling"].state == "off"
        [result] = await _listen(
            _config(tmp_path, broker, prefix), ["--reply-dir", str(replies), str(wav)]
        )
        async with asyncio.timeout(10):
            await fleet.wait_for_state("light.kitchen_ceiling", "on")
    assert result["woke"] is True
    assert "kitchen light" in result["transcript"].lower()
    assert result["intent"] == "HassTurnOn"
    assert result["handled_by"] == "template"
    assert {a["entity_id"] for a in result["actions"]} >= {"light.kitchen_ceiling"}
    for key in ("stt", "understanding", "dispatch", "end_of_speech_to_action"):
        assert key in result["timings_ms"]
    reply_wav = Path(result["reply_wav"])
    assert _is_speech(reply_wav)
    # The reply says so: whisper hears "turned on" in it.
    from assistant.config import Settings
    from assistant.stt import create_engine

    engine = create_engine(Settings())
    engine.accept(read_wav(reply_wav))
    heard = engine.finish().text.lower()
    assert "turn" in heard
    assert "on" in heard


async def test_no_wake_word_does_nothing(tmp_path: Path, broker: Broker) -> None:
    prefix = f"ha-{uuid.uuid4().hex[:6]}"
    wav = spoken(tmp_path / "kitchen.wav", "turn on the kitchen light", wake=None)
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with Fleet(load_example_home(), mqtt, prefix) as fleet:
        [result] = await _listen(_config(tmp_path, broker, prefix), [str(wav)])
        assert fleet.received == []
    assert result["woke"] is False
    assert result["actions"] == []
    assert fleet.states["light.kitchen_ceiling"].state == "off"


async def test_thirty_commands_and_confirmations_in_one_process(
    tmp_path: Path, broker: Broker
) -> None:
    prefix = f"ha-{uuid.uuid4().hex[:6]}"
    files: list[Path] = []
    for index, (text, voice, _) in enumerate(COMMANDS):
        files.append(spoken(tmp_path / f"{index:02d}.wav", text, voice=voice))
    # Sensitive: the garage door asks first; "yes" (no wake word) opens it.
    files.append(spoken(tmp_path / "garage.wav", "open the garage door", voice="en-gb"))
    files.append(spoken(tmp_path / "yes.wav", "yes", wake=None))
    # ... and answered "no" it stays shut.
    files.append(spoken(tmp_path / "garage2.wav", "open the garage door", voice="en-gb"))
    files.append(spoken(tmp_path / "no.wav", "no", wake=None))
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with Fleet(load_example_home(), mqtt, prefix) as fleet:
        results = await _listen(
            _config(tmp_path, broker, prefix), ["-"], stdin="".join(f"{f}\n" for f in files)
        )
        async with asyncio.timeout(10):
            # Every command of every turn reached the fleet.
            expected = sum(len(e) for _, _, e in COMMANDS) + 2  # + garage open, + close earlier
            await fleet.wait_for_commands(expected - 1)
    assert len(results) == len(files)
    failures = []
    for (text, voice, expected_actions), result in zip(COMMANDS, results, strict=False):
        got = [(a["entity_id"], a["action"]) for a in result["actions"]]
        if sorted(got) != sorted(expected_actions):
            failures.append((text, voice, result["transcript"], got))
    assert failures == []
    voices = {voice for _, voice, _ in COMMANDS}
    assert len(voices) >= 4
    domains = {entity.split(".")[0] for _, _, e in COMMANDS for entity, _ in e}
    assert len(domains) >= 9

    garage, yes, garage2, no = results[len(COMMANDS) :]
    assert garage["reply"] == "Are you sure?"
    assert garage["actions"] == []
    assert yes["woke"] is True  # the follow-up needed no wake word
    assert yes["actions"] == [
        {"entity_id": "cover.garage_door", "action": "open", "params": {}, "confirmed": True}
    ]
    assert garage2["reply"] == "Are you sure?"
    assert no["actions"] == []
    assert "cancel" in no["reply"].lower()
    opened = [r for r in fleet.received if r.entity_id == "cover.garage_door"]
    assert [r.payload for r in opened][-1:] == ["OPEN"]


async def test_no_wake_option_and_a_bad_file_among_good_ones(
    tmp_path: Path, broker: Broker
) -> None:
    prefix = f"ha-{uuid.uuid4().hex[:6]}"
    good = spoken(tmp_path / "fan.wav", "turn on the ceiling fan", wake=None)
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with Fleet(load_example_home(), mqtt, prefix) as fleet:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "assistant.cli", "listen", "--config",
            str(_config(tmp_path, broker, prefix)), "--json", "--no-wake", str(bad), str(good),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        async with asyncio.timeout(300):
            out, err = await proc.communicate()
            await fleet.wait_for_state("fan.living_room_ceiling_fan", "on")
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert proc.returncode == 1  # one file could not be read
    assert "notes.wav" in err.decode()
    assert "Traceback" not in err.decode()
    assert lines[0]["file"] == str(bad)
    assert "error" in lines[0]
    assert lines[1]["woke"] is True
    assert lines[1]["actions"] == [
        {
            "entity_id": "fan.living_room_ceiling_fan",
            "action": "turn_on",
            "params": {},
            "confirmed": True,
        }
    ]
