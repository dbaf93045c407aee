"""Choosing speech recognition: Vosk closed, Whisper (beam, bias) and two passes.

    PYTHONPATH=. .venv/bin/python bench/twopass.py [--json OUT] [--voices 3] [--only en|ko]

On espeak-ng sets spoken by several voices, in one process (models loaded
once), 100 ms blocks as from a microphone; latency is from the end of the
audio to the final text (Vosk has decoded the rest while it streamed):

- English: the commands of bench/e2e.py about the example home (template
  sentences and paraphrases).  Whisper base, beam 1 and 5, without and with
  the home's names as its prompt.  No closed pass: the only Vosk model
  offline here is Korean.
- Korean: bench/e2e.py's commands about bench/data/korean_home.yaml (in the
  phrase list) and sentences outside it.  Vosk with the home's phrases
  (closed), Whisper base (beam 1 and 5, without and with the names), and
  ``TwoPassEngine`` for real at ``--threshold``; the threshold sweep below it
  is put together from the two passes' own records of each utterance
  (Vosk's confidence and latency, plus Whisper's when Vosk is below).

Errors: word error rate for English; for Korean the character error rate
without spaces (espeak-ng and the recognisers space Korean differently).
Understood right: the transcript, through templates and the gazetteer stage
(``Understanding.process`` with a recording executor), leads to the same
intent and the same device actions as the sentence actually spoken;
"wrong action" counts transcripts that act on something the spoken sentence
would not.  No pass/fail: a table on stdout, the rows in --json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.audio import Samples  # noqa: E402
from assistant.audio.wav import read_wav  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.devices.entities import Entity  # noqa: E402
from assistant.devices.registry import Registry  # noqa: E402
from assistant.simulate import Home, load_example_home, load_home  # noqa: E402
from assistant.stt import SttEngine, create_engine  # noqa: E402
from assistant.stt.bias import unique  # noqa: E402
from assistant.stt.two_pass import TwoPassEngine  # noqa: E402
from assistant.stt.vosk import VoskEngine  # noqa: E402
from assistant.stt.whisper import WhisperEngine  # noqa: E402
from assistant.understanding.dryrun import RecordingExecutor  # noqa: E402
from assistant.understanding.engine import Understanding  # noqa: E402
from assistant.understanding.handlers import HANDLERS  # noqa: E402
from assistant.understanding.loader import discover  # noqa: E402
from assistant.understanding.origin import Origin  # noqa: E402
from assistant.understanding.phrases import build_phrases  # noqa: E402
from assistant.understanding.sentences import load_templates  # noqa: E402
from bench.e2e import FALLBACK_COMMANDS, KOREAN_COMMANDS, KOREAN_HOME, TEMPLATE_COMMANDS  # noqa: E402
from bench.stt import KO_COMMANDS, _distance, _p95, _words  # noqa: E402
from tests.pipeline_support import spoken  # noqa: E402

EN_VOICES = ["en-us", "en-gb-x-rp", "en-us+m3"]
KO_VOICES = ["ko", "ko+f2", "ko+m3"]
KO_OUTSIDE = [*KO_COMMANDS, "고마워요", "지금 음악 꺼 줘"]
"""Korean sentences to test the fallback with; those the phrase list has are counted as in it."""
SWEEP = [0.0, 0.3, 0.5, 0.7, 0.9, 1.01]
BLOCK = 1600


@dataclass
class Run:
    """One option over one set: per utterance the text, latency and decode time."""

    label: str
    heard: list[str] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    decode_s: float = 0.0
    extra: list[float] = field(default_factory=list)  # Vosk: confidence; two-pass: 1 = open pass


def decode(engine: SttEngine, audio: Samples) -> tuple[str, float, float]:
    """(text, end-of-audio latency ms, total decode s) for one utterance."""
    blocks = [audio[i : i + BLOCK] for i in range(0, audio.size, BLOCK)]
    spent = 0.0
    for block in blocks[:-1]:
        t = time.perf_counter()
        engine.accept(block)
        spent += time.perf_counter() - t
    t = time.perf_counter()
    engine.accept(blocks[-1])
    text = engine.finish().text
    latency = time.perf_counter() - t
    return text, latency * 1000.0, spent + latency


def run(label: str, engine: SttEngine, audios: list[Samples], after: Any = None) -> Run:
    out = Run(label)
    for audio in audios:
        text, latency, spent = decode(engine, audio)
        out.heard.append(text)
        out.latency_ms.append(latency)
        out.decode_s += spent
        if after is not None:
            out.extra.append(after())
    return out


def registry_of(home: Home) -> Registry:
    registry = Registry()
    for area, floor in home.floors().items():
        registry.set_floor(area, floor)
    registry.extend(
        Entity(s.entity_id, s.friendly_name, s.kind, "config", area=s.area, aliases=s.aliases)
        for s in home.entities
    )
    return registry


def names_of(home: Home) -> list[str]:
    return unique([*(n for s in home.entities for n in (s.name, *s.aliases)), *home.floors()])


class Judge:
    """What understanding does with a sentence: intent and device actions."""

    def __init__(self, language: str, registry: Registry) -> None:
        templates = load_templates(language, discover().yaml_files, keep_intents=HANDLERS.names())
        self.understanding = Understanding(registry, RecordingExecutor(registry), templates)
        self.count = 0
        self.loop = asyncio.new_event_loop()

    def key(self, text: str) -> tuple[Any, ...] | None:
        if not text.strip():
            return None
        self.count += 1  # a conversation each: no follow-up or question carries over
        origin = Origin(f"b{self.count}")
        outcome = self.loop.run_until_complete(self.understanding.process(text, origin=origin))
        if outcome.intent is None:
            return None
        acts = sorted((a.entity_id, a.action) for a in outcome.actions)
        return (outcome.intent, tuple(acts))


def errors(language: str, said: str, heard: str) -> tuple[int, int]:
    if language == "en":
        ref, hyp = _words(said), _words(heard)
    else:
        ref, hyp = _chars(said), _chars(heard)
    return _distance(ref, hyp), len(ref)


def _chars(text: str) -> list[str]:
    return list(re.sub(r"[\W_]+", "", text.casefold()))


@dataclass
class Scorer:
    """One set: what was said, how long it is, and what understanding makes of it."""

    language: str
    said: list[str]
    audio_s: float
    judge: Judge
    refs: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.refs = [self.judge.key(text) for text in self.said]

    def row(self, run: Run, label: str | None = None) -> dict[str, Any]:
        """Error rate, latency, RTF and understanding of one option."""
        wrong = total = 0
        for said, heard in zip(self.said, run.heard, strict=True):
            e, n = errors(self.language, said, heard)
            wrong, total = wrong + e, total + n
        keys = [self.judge.key(h) for h in run.heard]
        commands = [i for i, r in enumerate(self.refs) if r is not None]
        right = sum(keys[i] == self.refs[i] for i in commands)
        acted_wrong = sum(
            1 for k, r in zip(keys, self.refs, strict=True) if k is not None and k[1] and k != r
        )
        row = {
            "option": label or run.label,
            "error_rate": round(wrong / max(1, total), 3),
            "latency_ms_p50": round(statistics.median(run.latency_ms), 1),
            "latency_ms_p95": round(_p95(run.latency_ms), 1),
            "rtf": round(run.decode_s / self.audio_s, 3),
            "understood": f"{right}/{len(commands)}",
            "wrong_action": acted_wrong,
            "samples": [{"said": s, "heard": h} for s, h in zip(self.said, run.heard, strict=True)],
        }
        if run.label == "two-pass":
            row["open_share"] = round(sum(run.extra) / len(run.extra), 3)
        return row


def print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    head = ("option", "err", "p50 ms", "p95 ms", "RTF", "understood", "wrong act", "to whisper")
    table = [head] + [
        (
            r["option"],
            f"{r['error_rate']:.1%}",
            f"{r['latency_ms_p50']:.0f}",
            f"{r['latency_ms_p95']:.0f}",
            f"{r['rtf']:.3f}",
            r["understood"],
            str(r["wrong_action"]),
            f"{r['open_share']:.0%}" if "open_share" in r else "-",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    print(f"\n{title}", flush=True)
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)), flush=True)


def speak_all(items: list[tuple[str, str]], tmp: Path, tag: str) -> list[Samples]:
    audios = []
    for i, (text, voice) in enumerate(items):
        path = spoken(tmp / f"{tag}{i:03}.wav", text, wake=None, voice=voice)
        audios.append(read_wav(path))
    return audios


def whisper_options(beams: list[int]) -> list[tuple[str, int, bool]]:
    return [(f"whisper b{b}{' +bias' if on else ''}", b, on) for b in beams for on in (False, True)]


def set_whisper(whisper: WhisperEngine, beam: int, bias: bool, names: list[str]) -> None:
    whisper.beam_size = beam
    whisper.set_bias(names if bias else [])


def english(whisper: WhisperEngine, voices: list[str], tmp: Path) -> list[dict[str, Any]]:
    """Whisper's options on the English set (no closed pass: no English Vosk model)."""
    home = load_example_home()
    said = [t for t, _ in TEMPLATE_COMMANDS] + [t for t, _, _ in FALLBACK_COMMANDS]
    items = [(t, v) for v in voices for t in said]
    audio = speak_all(items, tmp, "en")
    scorer = Scorer("en", [t for t, _ in items], _seconds(audio), Judge("en", registry_of(home)))
    rows = []
    for label, beam, bias in whisper_options([1, 5]):
        set_whisper(whisper, beam, bias, names_of(home))
        rows.append(scorer.row(run(label, whisper, audio)))
    print_rows(f"English, {len(items)} utterances ({', '.join(voices)}), WER", rows)
    return rows


def korean(
    whisper: WhisperEngine, voices: list[str], tmp: Path, threshold: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Vosk closed, Whisper's options, two passes for real, and the threshold sweep."""
    home = load_home(KOREAN_HOME)
    judge = Judge("ko", registry_of(home))
    vosk = create_engine(Settings.model_validate({"stt": {"engine": "vosk", "language": "ko"}}))
    assert isinstance(vosk, VoskEngine)
    vosk.set_phrases(build_phrases(judge.understanding.matcher))
    items = [(t, v) for v in voices for t in [*(t for t, _, _ in KOREAN_COMMANDS), *KO_OUTSIDE]]
    audio = speak_all(items, tmp, "ko")
    scorer = Scorer("ko", [t for t, _ in items], _seconds(audio), judge)
    listed = sum(" ".join(t.split()) in (vosk.phrases or ()) for t in scorer.said)
    closed = run("vosk closed", vosk, audio, after=lambda: vosk.confidence)
    rows = [scorer.row(closed)]
    whisper.language = "ko"
    names = names_of(home)
    opened: dict[str, Run] = {}
    for label, beam, bias in whisper_options([1, 5]):
        set_whisper(whisper, beam, bias, names)
        opened[label] = run(label, whisper, audio)
        rows.append(scorer.row(opened[label]))
    # The real two-pass engine with the configured Whisper (beam 5, the names).
    set_whisper(whisper, 5, True, names)
    both = TwoPassEngine(vosk, whisper, threshold)
    two = run("two-pass", both, audio, after=lambda: float(both.last_pass == "open"))
    rows.append(scorer.row(two, f"two-pass @{threshold} (b5 +bias)"))
    title = f"Korean, {len(items)} utterances ({', '.join(voices)}; {listed} in the phrase list)"
    print_rows(f"{title}, CER", rows)
    sweep = [
        scorer.row(compose(closed, whisper_run, t), f"{label} @{t}")
        for label, whisper_run in opened.items()
        for t in SWEEP
    ]
    print_rows("Korean two-pass threshold sweep (composed from the passes above)", sweep)
    return rows, sweep


def compose(closed: Run, opened: Run, threshold: float) -> Run:
    """Two passes at `threshold` from each pass's own record of each utterance."""
    mix = Run("two-pass")
    for i, confidence in enumerate(closed.extra):
        use_open = not closed.heard[i] or confidence < threshold
        mix.heard.append(opened.heard[i] if use_open else closed.heard[i])
        mix.latency_ms.append(closed.latency_ms[i] + (opened.latency_ms[i] if use_open else 0.0))
        mix.decode_s += opened.latency_ms[i] / 1000 if use_open else 0.0
        mix.extra.append(float(use_open))
    mix.decode_s += closed.decode_s
    return mix


def _seconds(audio: list[Samples]) -> float:
    return sum(a.size for a in audio) / 16000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument(
        "--threshold",
        type=float,
        default=Settings().stt.two_pass_confidence,
        help="the real two-pass run's",
    )
    parser.add_argument("--voices", type=int, default=3, help="voices per language (1-3)")
    parser.add_argument("--only", choices=("en", "ko"), help="one language only")
    args = parser.parse_args()
    results: dict[str, Any] = {"isa": os.environ.get("CT2_FORCE_CPU_ISA", "native")}
    whisper = create_engine(Settings())
    assert isinstance(whisper, WhisperEngine)
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "ko":
            results["en"] = english(whisper, EN_VOICES[: args.voices], Path(tmp))
        if args.only != "en":
            voices = KO_VOICES[: args.voices]
            results["ko"], results["ko_sweep"] = korean(whisper, voices, Path(tmp), args.threshold)
    print(
        f"\n(CTranslate2 instruction set {results['isa']}; latency = end of audio to text;"
        " RTF = all decode time / audio time)"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
