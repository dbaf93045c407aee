"""A forked STT engine: a second utterance stream on the same loaded model.

`run` gives the Wyoming server a fork of the microphone's engine: an
utterance decoded on the fork while the microphone's is half streamed in
must leave both whole, also when both decode at once on two threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.audio.wav import read_wav
from assistant.config import Settings
from assistant.stt import Forkable, SttEngine, create_engine
from assistant.stt.vosk import VoskEngine
from tests.conftest import speak

pytestmark = pytest.mark.slow


def _interleaved(engine: SttEngine, first: Path, second: Path) -> tuple[str, str, str, str]:
    """(first alone, second alone, first interleaved, second on the fork meanwhile)."""
    assert isinstance(engine, Forkable)
    a, b = read_wav(first), read_wav(second)
    engine.accept(a)
    alone_a = engine.finish().text
    engine.accept(b)
    alone_b = engine.finish().text
    fork = engine.fork()
    half = a.size // 2
    engine.accept(a[:half])  # the microphone's utterance, half spoken
    fork.accept(b)
    with_b = fork.finish().text  # a Wyoming client's, decoded meanwhile
    engine.accept(a[half:])
    return alone_a, alone_b, engine.finish().text, with_b


def test_whisper_fork_decodes_beside_a_stream_in_progress(tmp_path: Path) -> None:
    engine = create_engine(Settings())
    first = speak("turn on the kitchen light", tmp_path / "a.wav", rate=16000)
    second = speak("close the garage door", tmp_path / "b.wav", rate=16000)
    alone_a, alone_b, inter_a, inter_b = _interleaved(engine, first, second)
    assert "kitchen light" in alone_a.lower()
    assert "garage door" in alone_b.lower()
    assert (inter_a, inter_b) == (alone_a, alone_b)
    # Both at once from two threads (the microphone's and the server's): the
    # model is shared, the utterances are not.
    assert isinstance(engine, Forkable)
    fork = engine.fork()
    engine.accept(read_wav(first))
    fork.accept(read_wav(second))
    with ThreadPoolExecutor(2) as pool:
        both = pool.submit(engine.finish), pool.submit(fork.finish)
        texts = [job.result().text for job in both]
    assert texts == [alone_a, alone_b]


def test_vosk_fork_has_its_own_recogniser_and_phrases(vosk_ko: VoskEngine, tmp_path: Path) -> None:
    vosk_ko.set_phrases(None)
    first = speak("안녕하세요 오늘 날씨가 좋네요", tmp_path / "a.wav", voice="ko", rate=16000)
    second = speak("불 켜", tmp_path / "b.wav", voice="ko", rate=16000)
    alone_a, alone_b, inter_a, inter_b = _interleaved(vosk_ko, first, second)
    assert alone_a
    assert (inter_a, inter_b) == (alone_a, alone_b)
    fork = vosk_ko.fork()
    fork.set_phrases(["불 켜", "불 꺼"])
    assert fork.phrases == frozenset({"불 켜", "불 꺼"})
    assert vosk_ko.phrases is None  # the original recognises freely still
