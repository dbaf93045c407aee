"""Understanding stage by stage: right action, wrong device, latency and RSS as stages are added.

    PYTHONPATH=. .venv/bin/python bench/stages.py [--sets paraphrases test] [--limit N]
        [--stages templates gazetteer model distilled] [--adapter PATH] [--model NAME]
        [--model-timeout S] [--sample 150] [--json out.json] [--verbose]

Sentence sets:

- paraphrases: tests/data/paraphrases.yaml over its home (bench/judge.py's registry);
- test: the training generator's test split (seed 1, `assistant train data`'s default
  sizes): homes and wordings training never saw.  The records are those it writes to
  test.jsonl, made in memory for the test homes only; a sample of --sample spread
  evenly over the homes, templates, paraphrases and negatives alike.

Settings, each the whole engine (``Understanding.process``, a fresh conversation
per sentence) over a registry of the sentence's home with a ``RecordingExecutor``
(no broker): templates (gazetteer and model off); +gazetteer; +model (the base
model as the llm "fallback", in its worker process as in the assistant);
+distilled (the same with --adapter; skipped with a line without one).
``llm_confirm`` is off, so what is judged is what the model would do; "would ask"
counts its answers, each of which would ask "Did you mean ...?" with it on;
"model-failed" the sentences it gave no usable answer for in --model-timeout
(the config's ``llm_timeout_seconds`` by default: raise it on a loaded machine
to judge the model rather than the machine).

Judging (bench/judge.py): *right* when every call has the expected intent and
reaches the expected devices (for a sentence that should do nothing: no call);
*wrong device* when a call reaches, or a recorded action touches, a device
outside the expected ones (any device, for a sentence that should do nothing);
*no action* when there is no call.  A sensitive action that stops at "Are you
sure?" is judged by its calls, as acting on those devices (a "yes" away), and is
also counted under "confirm".  *refused*: the gazetteer said a refusal or a
"which one?" question instead.

Latency: ``process()`` end to end without device I/O, by the stage that answered
(``handled_by``; "none" when none did, which with the model on includes its
time); "model" is the model's own time on every sentence it saw.  Warm-ups (the
gazetteer's matcher, the model's prompt per home) come before the clock.  The
2-core machine is shared: latencies are noisy.  RSS: this process's VmRSS and
VmHWM after each setting (cumulative: one process runs them in order) and the
model worker's RSS after load and its peak.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.devices.registry import Registry  # noqa: E402
from assistant.understanding.calls import IntentCall, IntentSchema, Vocabulary  # noqa: E402
from assistant.understanding.dryrun import RecordingExecutor  # noqa: E402
from assistant.understanding.engine import Outcome, Understanding  # noqa: E402
from assistant.understanding.fallback import LlmAdapter  # noqa: E402
from assistant.understanding.handlers import HANDLERS  # noqa: E402
from assistant.understanding.loader import discover  # noqa: E402
from assistant.understanding.origin import Origin  # noqa: E402
from assistant.understanding.sentences import TemplateSet, load_templates  # noqa: E402
from bench.judge import PARAPHRASES, judge, paraphrase_registry, reached  # noqa: E402
from bench.understanding import percentile  # noqa: E402

STAGES = ("templates", "gazetteer", "model", "distilled")
SETS = ("paraphrases", "test")
WARM_UP_LIMIT_S = 300.0
SHARES = ("right", "exact", "wrong_device", "no_action", "refused", "confirm", "would_ask")


class CountingAdapter(LlmAdapter):
    """The model as the engine's fallback, counting sentences it gave no usable answer for."""

    failures = 0

    def parse(
        self, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
    ) -> list[IntentCall] | None:
        calls = super().parse(text, schemas, vocabulary)
        self.failures += calls is None  # a timeout or output the grammar could not save
        return calls


@dataclass(frozen=True)
class Sentence:
    text: str
    expected: tuple[IntentCall, ...]
    home: str
    source: str


@dataclass
class SentenceSet:
    name: str
    registries: dict[str, Registry]
    sentences: list[Sentence]


def paraphrase_set() -> SentenceSet:
    data = yaml.safe_load(PARAPHRASES.read_text(encoding="utf-8"))
    sentences = [
        Sentence(
            item["text"],
            tuple(IntentCall(c["intent"], c.get("slots") or {}) for c in item["calls"]),
            "paraphrases",
            "paraphrase" if item["calls"] else "negative",
        )
        for item in data["sentences"]
    ]
    return SentenceSet("paraphrases", {"paraphrases": paraphrase_registry(data["home"])}, sentences)


def generated_set(sample: int, seed: int = 1) -> SentenceSet:
    """A sample of the generated test split, spread evenly over its homes."""
    from assistant.training.dataset import DataConfig, home_examples, home_split, llm_schemas
    from assistant.training.homes import make_home
    from assistant.training.sampled import load_intents

    config = DataConfig(seed=seed)
    schemas = llm_schemas()
    intents = load_intents(schemas)
    registries: dict[str, Registry] = {}
    groups: list[list[Sentence]] = []
    for index in range(config.homes):
        if home_split(index) != "test":
            continue
        home = make_home(index, seed)
        key = f"home{index}"
        registries[key] = home.registry()
        group = [
            Sentence(
                r["text"],
                tuple(IntentCall(c.pop("intent"), c) for c in r["calls"]),
                key,
                r["source"],
            )
            for r in home_examples(home, config, schemas, intents)
        ]
        random.Random(f"bench:{seed}:{index}").shuffle(group)
        groups.append(group)
    mixed = [s for row in itertools.zip_longest(*groups) for s in row if s is not None]
    return SentenceSet("test", registries, mixed[:sample])


def memory_mb(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB (empty once it is gone)."""
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = round(int(rest.split()[0]) / 1024, 1)
    except OSError:
        pass
    return out


def judged(registry: Registry, sentence: Sentence, outcome: Outcome) -> dict[str, Any]:
    """One sentence's row: what the engine did and the verdict."""
    expected, got = list(sentence.expected), list(outcome.calls)
    if got:
        verdict = judge(registry, expected, got)
    else:
        verdict = {"right": not expected, "exact": not expected, "wrong_device": False}
    wanted = set().union(*(reached(registry, e) for e in expected))
    stray = sorted({a.entity_id for a in outcome.actions} - wanted)
    by = outcome.handled_by or "none"
    return {
        "text": sentence.text,
        "home": sentence.home,
        "source": sentence.source,
        "expected": [{"intent": c.intent, "slots": dict(c.slots)} for c in expected],
        "calls": [{"intent": c.intent, "slots": dict(c.slots)} for c in got],
        "actions": [a.entity_id for a in outcome.actions],
        "reply": outcome.reply,
        "handled_by": by,
        **verdict,
        "wrong_device": verdict["wrong_device"] or bool(stray),
        "no_action": not got,
        "refused": by == "gazetteer" and not got,
        "confirm": outcome.awaiting_confirmation,
        "would_ask": by == "llm" and bool(got),
        "ms": round(outcome.timings_ms.get("total", 0.0), 2),
        "model_ms": round(outcome.timings_ms.get("llm", 0.0), 2),
    }


async def run_set(
    sset: SentenceSet, templates: TemplateSet, gazetteer: bool, fallback: CountingAdapter | None
) -> list[dict[str, Any]]:
    """Every sentence of the set through a fresh engine per home."""
    rows: list[dict[str, Any]] = []
    by_home: dict[str, list[Sentence]] = {}
    for sentence in sset.sentences:
        by_home.setdefault(sentence.home, []).append(sentence)
    for key, sentences in by_home.items():
        registry = sset.registries[key]
        understanding = Understanding(
            registry,
            RecordingExecutor(registry),
            templates,
            llm_mode="fallback" if fallback is not None else "off",
            fallback=fallback,
            confirm_llm=False,
        )
        understanding.gazetteer.enabled = gazetteer
        try:
            understanding.gazetteer.warm()
            started = time.monotonic()
            understanding.start_warm_up()
            await asyncio.wait_for(understanding.warmed(), WARM_UP_LIMIT_S)
            warm_s = time.monotonic() - started
            print(
                f"  {sset.name}/{key}: {len(sentences)} sentences, warm {warm_s:.1f} s",
                file=sys.stderr,
            )
            for sentence in sentences:
                failures = fallback.failures if fallback is not None else 0
                origin = Origin(f"bench-{len(rows)}")
                outcome = await understanding.process(sentence.text, origin=origin)
                understanding.timers.cancel_all()
                rows.append(judged(registry, sentence, outcome))
                rows[-1]["model_failed"] = fallback is not None and fallback.failures > failures
        finally:
            understanding.close()
    return rows


def latency(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.5), 1) if values else 0.0,
        "p95": round(percentile(values, 0.95), 1) if values else 0.0,
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = max(1, len(rows))
    shares = {key: round(sum(r[key] for r in rows) / n, 4) for key in SHARES}
    sources = Counter(r["source"] for r in rows)
    right_by_source = {
        source: {
            "n": count,
            "right": round(sum(r["right"] for r in rows if r["source"] == source) / count, 4),
        }
        for source, count in sorted(sources.items())
    }
    stages = sorted({r["handled_by"] for r in rows})
    by_stage = {s: latency([r["ms"] for r in rows if r["handled_by"] == s]) for s in stages}
    model = latency([r["model_ms"] for r in rows if r["model_ms"] > 0])
    return {
        "sentences": len(rows),
        **shares,
        "model_failed": sum(r["model_failed"] for r in rows),
        "right_by_source": right_by_source,
        "latency_ms": by_stage,
        "model_ms": model,
    }


def show(setting: str, set_name: str, result: dict[str, Any]) -> None:
    print(
        f"[{set_name}] {setting:<10} n={result['sentences']:<4} right {result['right']:.1%}"
        f" (exact {result['exact']:.1%})  wrong-device {result['wrong_device']:.1%}"
        f"  no-action {result['no_action']:.1%}  refused {result['refused']:.1%}"
        f"  confirm {result['confirm']:.1%}  would-ask {result['would_ask']:.1%}"
        f"  model-failed {result['model_failed']}"
    )
    by_source = ", ".join(
        f"{s} {v['right']:.1%} of {v['n']}" for s, v in result["right_by_source"].items()
    )
    print(f"    right by source: {by_source}")
    stages = "; ".join(
        f"{s} {v['p50']:.0f}/{v['p95']:.0f} (n={v['n']})" for s, v in result["latency_ms"].items()
    )
    model = result["model_ms"]
    if model["n"]:
        stages += f"; model itself {model['p50']:.0f}/{model['p95']:.0f} (n={model['n']})"
    print(f"    latency ms p50/p95 by stage: {stages}")


def make_model(
    settings: Settings, name: str, adapter: Path | None, timeout_s: float
) -> tuple[Any, CountingAdapter]:
    """The model in its worker process, as `make_fallback` builds it (with the adapter)."""
    from assistant.models import ModelStore
    from assistant.understanding.llm_process import LlmProcess

    config = settings.understanding
    process = LlmProcess(
        ModelStore.from_settings(settings).locate(name),
        threads=config.llm_threads,
        context=config.llm_context,
        timeout_s=timeout_s,
        adapter=adapter,
    )
    return process, CountingAdapter(process)


async def main() -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--adapter", type=Path, help="LoRA adapter (GGUF) for the distilled stage")
    parser.add_argument("--model", default=settings.understanding.llm_model, help="catalog name")
    parser.add_argument(
        "--model-timeout",
        type=float,
        default=settings.understanding.llm_timeout_seconds,
        help="s per sentence (the config's by default; more on a loaded machine)",
    )
    parser.add_argument("--sample", type=int, default=150, help="test-split sentences")
    parser.add_argument("--limit", type=int, help="first N sentences of each set")
    parser.add_argument("--json", type=Path, help="write the totals and rows here")
    parser.add_argument("--verbose", action="store_true", help="one line per wrong sentence")
    args = parser.parse_args()

    sources = discover(entry_points=False)
    templates = load_templates("en", sources.yaml_files, keep_intents=HANDLERS.names())
    sets = [
        paraphrase_set() if name == "paraphrases" else generated_set(args.sample)
        for name in args.sets
    ]
    for sset in sets:
        sset.sentences = sset.sentences[: args.limit] if args.limit else sset.sentences
    results: dict[str, Any] = {"model": args.model, "adapter": str(args.adapter or "")}
    results.update(runs=[], memory={})
    for setting in args.stages:
        if setting == "distilled" and args.adapter is None:
            print("[all] distilled  skipped: no --adapter given")
            continue
        process = fallback = None
        worker: dict[str, Any] = {}
        if setting in ("model", "distilled"):
            process, fallback = make_model(
                settings,
                args.model,
                args.adapter if setting == "distilled" else None,
                args.model_timeout,
            )
            worker["rss_mb_after_load"] = round(process.info["rss_after_load"] / 1e6, 1)
        for sset in sets:
            rows = await run_set(sset, templates, setting != "templates", fallback)
            result = summary(rows)
            show(setting, sset.name, result)
            if args.verbose:
                for row in rows:
                    if not row["right"] or row["wrong_device"]:
                        print(f"      BAD {row['text']!r} -> {row['calls']} ({row['handled_by']})")
            results["runs"].append({"setting": setting, "set": sset.name, **result, "rows": rows})
        if process is not None:
            worker["peak_mb"] = memory_mb(process.pid).get("VmHWM", 0.0)
            process.close()
        mine = memory_mb()
        print(
            f"    RSS after {setting}: this process {mine.get('VmRSS', 0):.0f} MB"
            f" (peak {mine.get('VmHWM', 0):.0f} MB)"
            + (
                f"; model worker {worker['rss_mb_after_load']:.0f} MB after load"
                f" (peak {worker['peak_mb']:.0f} MB)"
                if worker
                else ""
            )
        )
        results["memory"][setting] = {"this_process_mb": mine, "worker_mb": worker}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
