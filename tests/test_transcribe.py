"""`assistant transcribe` through the real CLI on espeak-ng speech and bad files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.wav import read_wav
from assistant.cli import main
from tests.conftest import speak
from tests.pipeline_support import spoken

pytestmark = pytest.mark.slow

# (text, voice, speed): varied voices and speeds, numbers in both spellings.
COMMANDS = [
    ("turn on the kitchen light", "en-us", 160),
    ("turn off the living room lights", "en-gb", 150),
    ("lock the front door", "en-us", 180),
    ("open the garage door", "en", 140),
    ("close the bedroom blinds", "en-gb", 170),
    ("set the thermostat to 21 degrees", "en-us", 150),
    ("dim the bedroom lights to 50 percent", "en-us", 140),
    ("what is the temperature in the bathroom", "en-gb", 160),
    ("start the vacuum cleaner", "en", 170),
    ("turn on the fan in the office", "en-us", 200),
    ("set a timer for 10 minutes", "en-gb", 150),
    ("switch off the coffee machine", "en-us", 130),
    ("is the back door locked", "en", 160),
    ("turn the hallway light blue", "en-us", 170),
    ("open the curtains in the living room", "en-gb", 140),
    ("play some music in the kitchen", "en-us", 190),
    ("stop the music", "en", 150),
    ("turn off all the lights", "en-us", 160),
    ("set the heating to 19 degrees", "en-gb", 130),
    ("close the garage door", "en-us", 200),
    ("turn on the porch light", "en-gb", 180),
    ("what time is it", "en-us", 150),
]

_UNIT_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
)
_UNITS = {word: i for i, word in enumerate(_UNIT_WORDS.split())}
_TENS_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety"
_TENS = {word: 10 * i for i, word in enumerate(_TENS_WORDS.split(), 2)}


def normalise(text: str) -> list[str]:
    """Lowercase words without punctuation, numbers as digits ("fifty percent" == "50%")."""
    text = text.lower().replace("%", " percent").replace("-", " ")
    words = re.sub(r"[^a-z0-9' ]+", " ", text).replace("'", "").split()
    out: list[str] = []
    for word in words:
        if word in _UNITS and out and out[-1].isdigit() and int(out[-1]) in _TENS.values():
            out[-1] = str(int(out[-1]) + _UNITS[word])
        elif word in _UNITS:
            out.append(str(_UNITS[word]))
        elif word in _TENS:
            out.append(str(_TENS[word]))
        else:
            out.append(word)
    return out


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Word-level Levenshtein distance."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def test_normalise_and_edit_distance() -> None:
    assert normalise("Dim it to 50%.") == normalise("dim it to fifty percent")
    assert normalise("Twenty-one degrees") == ["21", "degrees"]
    assert edit_distance(["a", "b", "c"], ["a", "x", "c", "d"]) == 2
    assert edit_distance([], ["a"]) == 1


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_whisper_base_transcribes_spoken_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [
        speak(text, tmp_path / f"cmd{i:02}.wav", voice=voice, speed=speed)
        for i, (text, voice, speed) in enumerate(COMMANDS)
    ]
    assert main(["transcribe", "--json", "--engine", "whisper", *map(str, files)]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(results) == len(COMMANDS)
    errors = words = 0
    misses = []
    for (text, _, _), result in zip(COMMANDS, results, strict=True):
        assert result["engine"] == "whisper"
        assert result["model"] == "whisper-base"
        assert result["audio_seconds"] > 0.5
        assert set(result["timings_ms"]) == {"load", "decode", "total"}
        ref, hyp = normalise(text), normalise(result["transcript"])
        distance = edit_distance(ref, hyp)
        if distance:
            misses.append((text, result["transcript"]))
        errors += distance
        words += len(ref)
    # Measured with the defaults (beam 5, no bias): 6/115 = 5.2% both on AVX-512
    # and with CT2_FORCE_CPU_ISA=AVX2, the same words wrong on both; greedy
    # decoding made 11/115 here and 17/115 on an AVX2 EPYC.  10% leaves room for
    # other CPUs' numerics (about twice what was measured) and still fails the
    # 17/115 the issue saw.
    assert errors / words <= 0.10, misses


def test_bad_files_get_one_line_each_and_the_rest_is_transcribed(tmp_path: Path) -> None:
    good = speak("turn on the kitchen light", tmp_path / "good.wav")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n", encoding="utf-8")
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    missing = tmp_path / "missing.wav"

    result = _run(
        "transcribe", "--json", str(text), str(empty), str(good), str(truncated), str(missing)
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("assistant:")]
    assert len(errors) == 4, result.stderr
    for path, line in zip((text, empty, truncated, missing), errors, strict=True):
        assert str(path) in line
    assert "truncated" in errors[2]
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["file"] for o in outputs] == [str(good)]
    assert "kitchen light" in outputs[0]["transcript"].lower()


@pytest.mark.skipif(shutil.which("sox") is None, reason="needs sox")
def test_8khz_stereo_wav_is_resampled_and_transcribed(tmp_path: Path) -> None:
    source = speak("open the garage door", tmp_path / "src.wav")
    narrow = tmp_path / "phone.wav"
    subprocess.run(
        ["sox", str(source), "-r", "8000", "-c", "2", str(narrow)],
        check=True,
    )
    with wave.open(str(narrow)) as handle:
        assert (handle.getframerate(), handle.getnchannels()) == (8000, 2)
    result = _run("transcribe", "--json", str(narrow))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert normalise(output["transcript"]) == normalise("open the garage door")


def _long_wav(path: Path, speech: Path, minutes: int) -> None:
    """Speech, then low noise, for `minutes` in all; written in blocks."""
    rng = np.random.default_rng(7)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        said = read_wav(speech)
        out.writeframes(said.tobytes())
        remaining = minutes * 60 * 16000 - len(said)
        while remaining > 0:
            block = rng.normal(0, 60, min(remaining, 160000)).astype(np.int16)
            out.writeframes(block.tobytes())
            remaining -= len(block)


_MEASURE = (
    "import resource, sys\n"
    "from assistant.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _peak_rss_kb(*args: str) -> tuple[int, dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rss = int(re.findall(r"maxrss_kb (\d+)", result.stderr)[-1])
    return rss, json.loads(result.stdout)


def test_ten_minute_wav_is_processed_in_bounded_memory(tmp_path: Path) -> None:
    speech = speak("turn off all the lights", tmp_path / "speech.wav")
    long = tmp_path / "long.wav"
    _long_wav(long, speech, minutes=10)
    short = tmp_path / "short.wav"
    _long_wav(short, speech, minutes=0)

    short_rss, short_out = _peak_rss_kb("transcribe", "--json", str(short))
    long_rss, long_out = _peak_rss_kb("transcribe", "--json", str(long))
    assert long_out["audio_seconds"] == pytest.approx(600.0, abs=0.1)
    assert long_out["transcribed_seconds"] == pytest.approx(15.0, abs=0.1)  # the default cap
    assert "lights" in str(long_out["transcript"]).lower()
    assert short_out["audio_seconds"] < 5
    # Holding the 10 minutes would take 19 MB as int16 and far more in Whisper.
    assert long_rss - short_rss < 30_000, (short_rss, long_rss)


def test_bias_from_the_example_home_and_a_bad_home_file(tmp_path: Path) -> None:
    wav = spoken(tmp_path / "sprinkler.wav", "close the garden sprinkler", voice="en-gb", wake=None)
    result = _run("transcribe", "--json", "--bias", "example", str(wav))
    assert result.returncode == 0, result.stderr
    [output] = [json.loads(line) for line in result.stdout.splitlines()]
    assert normalise(output["transcript"])[:4] == ["close", "the", "garden", "sprinkler"]

    missing = _run("transcribe", "--bias", str(tmp_path / "nohome.yaml"), str(wav))
    assert missing.returncode != 0
    assert "Traceback" not in missing.stderr
    assert "nohome.yaml" in missing.stderr
    assert "home file not found" in missing.stderr
