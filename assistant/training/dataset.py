"""The data set: synthetic homes, their sentences and labels, split and written as JSONL.

Reproducible: every random draw comes from a ``random.Random`` seeded by the
data seed and the home's index, records are written in a fixed order with
sorted keys, so the same seed and home count give byte-identical files.

Splits are by home (home index mod 10: 0 test, 1 dev, the rest train) and by
pattern (``pattern_split`` of each paraphrase wording, filler and template
sentence): a test sentence comes from a home and a wording training never saw.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.understanding.calls import IntentCall, IntentSchema

from .families import FAMILIES
from .format import answer_text, prompt_text
from .homes import Home, make_home
from .negatives import negative
from .noise import add_noise
from .paraphrase import pattern_split
from .sampled import load_intents, template_samples

SPLITS = ("train", "dev", "test")
# Politeness and fillers around a wording; split like the wordings are.
PREFIXES = ("", "um ", "hey ", "okay so ", "uh ", "right, ", "hmm ", "so ", "oh ", "erm ")
SUFFIXES = ("", " please", " thanks", " for me", " now", " if you don't mind", " cheers",
            " would you", " real quick")  # fmt: skip


@dataclass(frozen=True)
class DataConfig:
    """Everything that decides the data (recorded in the manifest and the training config)."""

    seed: int = 1
    homes: int = 50
    paraphrases_per_home: int = 60
    templates_per_intent: int = 2
    negative_share: float = 0.15
    noise_share: float = 0.25


def home_split(index: int) -> str:
    """The split a home belongs to."""
    return {0: "test", 1: "dev"}.get(index % 10, "train")


def _calls_json(calls: Sequence[IntentCall]) -> list[dict[str, Any]]:
    return [{"intent": c.intent, **dict(c.slots)} for c in calls]


def _wrap(text: str, rng: random.Random, split: str) -> str:
    prefix = rng.choice([p for i, p in enumerate(PREFIXES) if pattern_split(i) in (split, "x")])
    suffix = rng.choice([s for i, s in enumerate(SUFFIXES) if pattern_split(i) in (split, "x")])
    if rng.random() < 0.5:
        return text
    return prefix + text + suffix


# How two commands are joined into one sentence; split like the wordings are.
JOINS = (" and ", " and also ", ", then ", " and then ", ", and ", " then ", ", also ")
COMPOUND_SHARE = 0.25


def _paraphrase(
    home: Home, rng: random.Random, split: str
) -> tuple[str, str, list[IntentCall]] | None:
    family = rng.choice(FAMILIES)
    wordings = [i for i in range(len(family.variants)) if pattern_split(i) == split]
    if not wordings:
        return None
    got = family.pick(home, rng)
    if got is None:
        return None
    fill, calls = got
    index = rng.choice(wordings)
    return f"{family.id}:{index}", family.variants[index].format(**fill), calls


def _compound(
    home: Home, rng: random.Random, split: str
) -> tuple[str, str, list[IntentCall]] | None:
    """Two different commands on two named devices in one sentence ("dim X and close Y")."""
    first = _paraphrase(home, rng, split)
    second = _paraphrase(home, rng, split)
    if first is None or second is None or len(first[2]) != 1 or len(second[2]) != 1:
        return None
    one, other = first[2][0], second[2][0]
    if "name" not in one.slots or "name" not in other.slots or one == other:
        return None
    if one.slots["name"] == other.slots["name"]:
        return None
    join = rng.choice([j for i, j in enumerate(JOINS) if pattern_split(i) == split])
    return f"two.any:{first[0]}+{second[0]}", first[1] + join + second[1], [one, other]


def home_examples(
    home: Home, config: DataConfig, schemas: Sequence[IntentSchema], intents: Any
) -> Iterator[dict[str, Any]]:
    """Every example of one home, in a fixed order."""
    split = home_split(home.index)
    rng = random.Random(f"examples:{config.seed}:{home.index}")
    vocabulary = home.vocabulary()
    items: list[tuple[str, str, str, list[IntentCall]]] = []
    for pattern, text, calls in template_samples(
        home, intents, schemas, rng, per_intent=config.templates_per_intent, split=split
    ):
        items.append(("template", pattern, text, calls))
    attempts = 0
    made = 0
    while made < config.paraphrases_per_home and attempts < config.paraphrases_per_home * 5:
        attempts += 1
        if rng.random() < config.negative_share:
            neg = negative(home, rng, split)
            if neg is not None:
                items.append(("negative", neg[0], neg[1], []))
                made += 1
            continue
        if rng.random() < COMPOUND_SHARE:
            got = _compound(home, rng, split)
        else:
            got = _paraphrase(home, rng, split)
        if got is not None:
            items.append(("paraphrase", got[0], _wrap(got[1], rng, split), got[2]))
            made += 1
    for number, (source, pattern, text, calls) in enumerate(items):
        spoken = " ".join(text.split())
        spoken = spoken.lower() if rng.random() < 0.9 else spoken
        noise = ""
        if source != "negative" and rng.random() < config.noise_share:
            spoken, noise = add_noise(spoken, rng)
        yield {
            "id": f"h{home.index}-{number}",
            "split": split,
            "home": home.index,
            "source": source,
            "pattern": pattern,
            "noise": noise,
            "text": spoken,
            "calls": _calls_json(calls),
            "prompt": prompt_text(vocabulary, spoken),
            "answer": answer_text(calls, schemas),
        }


def home_record(home: Home) -> dict[str, Any]:
    """A home as JSON: areas, floors and entities (to validate labels against it)."""
    entities = []
    for entity in home.entities:
        item = asdict(entity)
        item["aliases"] = list(entity.aliases)
        item["features"] = sorted(entity.features)
        entities.append(item)
    return {
        "index": home.index,
        "split": home_split(home.index),
        "areas": list(home.areas),
        "floors": dict(sorted(home.floors.items())),
        "entities": entities,
    }


def llm_schemas() -> list[IntentSchema]:
    """The schemas offered to the model (the built-in handlers that the LLM may call)."""
    from assistant.understanding.handlers import HANDLERS
    from assistant.understanding.loader import discover

    discover(entry_points=False)
    return HANDLERS.schemas(llm_only=True)


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"


def write_dataset(config: DataConfig, out: Path) -> dict[str, Any]:
    """Write homes.jsonl, train/dev/test.jsonl and manifest.json into `out`; the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    schemas = llm_schemas()
    intents = load_intents(schemas)
    files = {split: (out / f"{split}.jsonl").open("w", encoding="utf-8") for split in SPLITS}
    counts = dict.fromkeys(SPLITS, 0)
    try:
        with (out / "homes.jsonl").open("w", encoding="utf-8") as homes_file:
            for index in range(config.homes):
                home = make_home(index, config.seed)
                homes_file.write(_dump(home_record(home)))
                for record in home_examples(home, config, schemas, intents):
                    files[record["split"]].write(_dump(record))
                    counts[record["split"]] += 1
    finally:
        for handle in files.values():
            handle.close()
    digests = {
        name: hashlib.sha256((out / name).read_bytes()).hexdigest()
        for name in ("homes.jsonl", *(f"{s}.jsonl" for s in SPLITS))
    }
    manifest = {"config": asdict(config), "counts": counts, "sha256": digests}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
