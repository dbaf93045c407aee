"""Whisper biased toward the home's words: the prompt, its bound, and its refresh."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from assistant.audio.wav import iter_wav
from assistant.config import Settings
from assistant.devices.entities import Entity
from assistant.devices.registry import Registry
from assistant.pipeline.grammar_refresh import GrammarRefresh
from assistant.stt import PhraseBiased, PhraseRestrictable, create_engine
from assistant.stt.bias import PROMPT_TOKENS, bias_prompt, home_words, unique
from assistant.stt.whisper import WhisperEngine
from tests.conftest import speak
from tests.pipeline_support import spoken, utterances

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def whisper() -> WhisperEngine:
    engine = create_engine(Settings())
    assert isinstance(engine, WhisperEngine)
    return engine


def _tokens(engine: WhisperEngine, text: str) -> int:
    return len(engine._model.hf_tokenizer.encode(" " + text, add_special_tokens=False).ids)


def _lamp(entity_id: str, name: str, area: str, *aliases: str) -> Entity:
    return Entity(entity_id, name, "light", "config", area=area, aliases=aliases)


def test_names_are_kept_once_in_order_whatever_their_case() -> None:
    assert unique(["Big Light", "big  light", " ", "Desk Lamp", "BIG LIGHT"]) == [
        "Big Light",
        "Desk Lamp",
    ]


def test_home_words_are_names_aliases_and_areas() -> None:
    registry = Registry()
    registry.extend(
        [
            _lamp("light.a", "Kitchen Ceiling", "Kitchen", "big light"),
            _lamp("light.b", "Desk Lamp", "Office"),
            _lamp("light.c", "desk lamp", "Office"),
        ]
    )
    expected = ["Kitchen Ceiling", "big light", "Desk Lamp", "Kitchen", "Office"]
    assert home_words(registry) == expected


def test_english_prompt_is_a_sentence_and_other_languages_a_list() -> None:
    english = bias_prompt(["Garden Sprinkler", "Desk Lamp"], "en", lambda s: len(s.split()))
    assert english is not None
    assert english.startswith("Turn on, turn off, open, close")
    assert english.endswith("the garden sprinkler, the desk lamp. Set it to 21 degrees or 50%.")
    assert bias_prompt(["거실 불", "안방"], "ko", lambda s: len(s.split())) == "거실 불, 안방."
    assert bias_prompt([], "en", lambda s: len(s.split())) is None


def test_a_large_home_is_cut_to_whispers_prompt_budget(whisper: WhisperEngine) -> None:
    names = [f"Lamp number {i} in the west wing" for i in range(500)]
    try:
        whisper.set_bias(names)
        prompt = whisper.prompt
        assert prompt is not None
        assert "lamp number 0 in the west wing" in prompt  # the first names are kept
        assert "lamp number 499" not in prompt
        # Whisper keeps at most 223 prompt tokens: the bias stays within its own budget.
        assert _tokens(whisper, prompt) <= PROMPT_TOKENS <= 223
        whisper.set_bias([])
        assert whisper.prompt is None
    finally:
        whisper.set_bias([])


def test_whisper_is_biased_not_restricted(whisper: WhisperEngine) -> None:
    assert isinstance(whisper, PhraseBiased)
    assert not isinstance(whisper, PhraseRestrictable)


def test_the_home_names_make_whisper_hear_a_split_name(
    whisper: WhisperEngine, tmp_path: Path
) -> None:
    # Cut as `listen --no-wake` cuts it: greedy and without the home's names,
    # whisper base hears "Closer to the garden, sprinkler." from this voice
    # (AVX-512 and forced AVX2 alike).  With the defaults it hears the device.
    from assistant.simulate.home import load_example_home

    home = load_example_home()
    names = [n for e in home.entities for n in (e.name, *e.aliases)]
    names += [a.name for a in home.areas]
    wav = spoken(tmp_path / "sprinkler.wav", "close the garden sprinkler", voice="en-gb", wake=None)
    [utterance] = list(utterances(wav))
    try:
        whisper.set_bias(names)
        whisper.accept(utterance.samples)
        heard = whisper.finish().text.lower()
    finally:
        whisper.set_bias([])
    words = heard.replace(",", " ").replace(".", " ").split()
    assert words[:4] == ["close", "the", "garden", "sprinkler"], heard


async def test_grammar_refresh_hands_whisper_the_new_names(whisper: WhisperEngine) -> None:
    registry = Registry()
    registry.extend([_lamp("light.a", "Desk Lamp", "Office")])
    refresh = GrammarRefresh(whisper, lambda: home_words(registry), settle_seconds=0.05)
    try:
        assert await refresh.start(registry) == 2
        refresh.apply()
        assert whisper.prompt is not None
        assert "desk lamp" in whisper.prompt
        registry.extend([_lamp("light.b", "Garden Sprinkler", "Garden")])
        await asyncio.sleep(0.1)
        async with asyncio.timeout(10):
            await refresh.settled()
        assert "garden sprinkler" not in whisper.prompt  # only between utterances ...
        refresh.apply()
        assert "garden sprinkler" in whisper.prompt  # ... the new name is used
    finally:
        refresh.close()
        whisper.set_bias([])


def test_plain_speech_is_still_heard_with_a_bias(whisper: WhisperEngine, tmp_path: Path) -> None:
    # A bias is a hint: words outside the home are not replaced by its names.
    wav = speak("what time is it", tmp_path / "time.wav", voice="en-us")
    try:
        whisper.set_bias(["Garden Sprinkler", "Kitchen Ceiling", "Living Room"])
        for block in iter_wav(wav, 1600):
            whisper.accept(block)
        heard = whisper.finish().text.lower()
    finally:
        whisper.set_bias([])
    assert "what time is it" in heard
