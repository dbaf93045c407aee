"""The STT grammar follows the home: a real Vosk model (Korean, from pip), a real
registry, and espeak-ng speech through the turn runner.

The phrase source here is a plain function of the registry's names: what is
under test is who refreshes the grammar and when, not how phrases are sampled
(tests/test_phrases.py covers that, tests/test_listen_korean.py the whole path).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from assistant.audio.wav import read_wav
from assistant.devices.entities import Entity
from assistant.devices.registry import Registry
from assistant.pipeline.grammar_refresh import GrammarRefresh
from assistant.pipeline.messages import Utterance
from assistant.pipeline.turn import TurnRunner
from assistant.stt.vosk import VoskEngine
from assistant.understanding.origin import Origin
from assistant.understanding.outcome import Outcome
from tests.conftest import speak
from tests.pipeline_support import silence

pytestmark = pytest.mark.slow

SETTLE = 0.2


def _thing(name: str) -> Entity:
    return Entity(f"switch.{abs(hash(name))}", name, "switch", "config")


def _opening(registry: Registry) -> Sequence[str]:
    """ "<name> 열어" ("open <name>") for every entity."""
    return [f"{e.name} 열어" for e in registry.entities()]


async def test_changes_reach_the_engine_only_between_utterances(vosk_ko: VoskEngine) -> None:
    registry = Registry()
    registry.upsert(_thing("불"))
    refresh = GrammarRefresh(vosk_ko, lambda: _opening(registry), settle_seconds=SETTLE)
    try:
        assert await refresh.start(registry) == 1
        assert vosk_ko.phrases is None  # nothing is applied before the engine's thread asks
        refresh.apply()
        assert vosk_ko.phrases == frozenset({"불 열어"})
        # A burst of changes (discovery announcing a home) is one rebuild.
        for name in ("문", "창문", "음악"):
            registry.upsert(_thing(name))
        async with asyncio.timeout(10):
            await refresh.settled()
        assert refresh.builds == 2
        assert refresh.count == 4
        # Built, but the utterance in progress keeps the grammar it started with.
        assert vosk_ko.phrases == frozenset({"불 열어"})
        refresh.apply()
        assert vosk_ko.phrases == frozenset({"불 열어", "문 열어", "창문 열어", "음악 열어"})
        refresh.apply()  # nothing new: the engine is left alone
        assert refresh.builds == 2
    finally:
        refresh.close()
        vosk_ko.set_phrases(None)
    registry.upsert(_thing("차고"))
    await asyncio.sleep(SETTLE * 3)
    assert refresh.builds == 2  # closed: no longer following the registry


async def test_a_failed_rebuild_keeps_the_phrases(
    vosk_ko: VoskEngine, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry()
    registry.upsert(_thing("불"))
    broken = False

    def build() -> Sequence[str]:
        if broken:
            raise ValueError("templates are being reloaded")
        return _opening(registry)

    refresh = GrammarRefresh(vosk_ko, build, settle_seconds=SETTLE)
    try:
        await refresh.start(registry)
        refresh.apply()
        broken = True
        registry.upsert(_thing("문"))
        with caplog.at_level(logging.ERROR):
            async with asyncio.timeout(10):
                await refresh.settled()
        assert "STT grammar not rebuilt" in caplog.text
        refresh.apply()
        assert vosk_ko.phrases == frozenset({"불 열어"})
    finally:
        refresh.close()
        vosk_ko.set_phrases(None)


async def test_a_new_name_is_recognised_after_the_refresh(
    vosk_ko: VoskEngine, tmp_path: Path
) -> None:
    import numpy as np

    said = read_wav(speak("문 열어", tmp_path / "door.wav", voice="ko", speed=150))
    audio = np.concatenate([silence(0.3), said, silence(0.5)])
    heard: list[str] = []

    async def understand(text: str, origin: Origin) -> Outcome:
        heard.append(text)
        return Outcome(
            text=text, intent=None, slots={}, actions=(), reply="", handled_by=None, timings_ms={}
        )

    registry = Registry()
    registry.upsert(_thing("불"))
    refresh = GrammarRefresh(vosk_ko, lambda: _opening(registry), settle_seconds=SETTLE)
    turns = TurnRunner(vosk_ko, understand, grammar=refresh)
    try:
        await refresh.start(registry)
        await turns.apply_grammar()
        before = await turns.from_audio(Utterance(audio, time.monotonic()), speak=False)
        assert before.transcript != "문 열어"  # not a phrase of this home yet
        registry.upsert(_thing("문"))
        async with asyncio.timeout(10):
            await refresh.settled()
        after = await turns.from_audio(Utterance(audio, time.monotonic()), speak=False)
        assert after.transcript == "문 열어"
        assert heard[-1] == "문 열어"
    finally:
        turns.close()
        refresh.close()
        vosk_ko.set_phrases(None)
