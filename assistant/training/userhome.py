"""The user's own home as training data: the live registry as a ``Home``, and its examples.

The same generator as the synthetic homes (``home_examples``) runs over the
user's names, aliases, areas and floors, and over their own intents when an
intents directory adds handlers offered to the model.  Training examples come
from train-split passes (train wordings and templates); the held-out set from
test-split passes, so the check uses the user's names in wordings training
never saw.  A share of synthetic homes' examples is mixed in so the adapter
does not forget homes in general.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.devices.registry import Registry
from assistant.errors import UserError
from assistant.understanding.calls import IntentSchema

from .dataset import DataConfig, home_examples, home_record, home_split
from .homes import Home, make_home
from .recipe import HomeConfig
from .sampled import load_intents

_PASSES = 200  # at most this many passes over the user's home (a home with few names)


@dataclass(frozen=True)
class HomeData:
    """The examples `assistant train home` trains on and checks with."""

    home: Home
    schemas: tuple[IntentSchema, ...]
    train: list[dict[str, Any]]  # the user's and the synthetic ones, shuffled
    heldout: list[dict[str, Any]]
    own: int  # how many of `train` are the user's


def home_from_registry(registry: Registry) -> Home:
    """The user's home as the data generator sees a synthetic one."""
    areas = tuple(registry.areas())
    floors = {area: floor for area in areas if (floor := registry.floor_of(area))}
    entities = tuple(sorted(registry.entities(), key=lambda e: e.entity_id))
    if not entities:
        raise UserError("no devices found in the configured home: nothing to teach")
    return Home(-1, areas, floors, entities)


def user_schemas(settings: Settings) -> tuple[list[IntentSchema], list[Path]]:
    """The schemas the runtime offers the model (built-in and the user's), and their sentences."""
    from assistant.understanding.handlers import HANDLERS
    from assistant.understanding.loader import discover

    sources = discover(settings.understanding.intents_dir)
    return HANDLERS.schemas(llm_only=True), sources.yaml_files


def _indices(split: str) -> Iterator[int]:
    return (i for i in range(10 * _PASSES) if home_split(i) == split)


def _passes(
    home: Home,
    split: str,
    count: int,
    *,
    config: DataConfig,
    schemas: Sequence[IntentSchema],
    intents: Any,
) -> list[dict[str, Any]]:
    """`count` examples of `home` in `split`, from as many seeded passes as that takes."""
    records: list[dict[str, Any]] = []
    for index in _indices(split):
        if len(records) >= count:
            break
        before = len(records)
        for record in home_examples(replace(home, index=index), config, schemas, intents):
            records.append({**record, "id": f"user-{split}-{len(records)}", "home": "user"})
        if len(records) == before:
            break  # nothing this home can be asked in these wordings
    return records[:count]


def _synthetic(
    config: DataConfig, count: int, schemas: Sequence[IntentSchema], intents: Any
) -> list[dict[str, Any]]:
    """`count` training examples of the synthetic training homes, spread over them."""
    pool: list[dict[str, Any]] = []
    for index in _indices("train"):
        if index >= config.homes or len(pool) >= 3 * count:
            break
        pool.extend(home_examples(make_home(index, config.seed), config, schemas, intents))
    return random.Random(f"synthetic:{config.seed}").sample(pool, min(count, len(pool)))


def home_data(home: Home, config: DataConfig, wanted: HomeConfig, settings: Settings) -> HomeData:
    """The user's training and held-out examples, with the synthetic share mixed in."""
    if settings.understanding.language != "en":
        raise UserError(
            f"train home writes English sentences; [understanding] language is "
            f"{settings.understanding.language!r}"
        )
    schemas, sentence_files = user_schemas(settings)
    intents = load_intents(schemas, custom_files=sentence_files)
    own = _passes(home, "train", wanted.examples, config=config, schemas=schemas, intents=intents)
    if not own:
        raise UserError("the configured devices give no sentences to train on")
    heldout = _passes(home, "test", wanted.heldout, config=config, schemas=schemas, intents=intents)
    share = min(max(wanted.synthetic_share, 0.0), 0.9)
    synthetic = _synthetic(config, round(len(own) * share / (1 - share)), schemas, intents)
    train = own + synthetic
    random.Random(f"mix:{config.seed}").shuffle(train)
    return HomeData(home, tuple(schemas), train, heldout, len(own))


def write_home_data(data: HomeData, config: DataConfig, out: Path) -> dict[str, Any]:
    """home.json, train.jsonl, test.jsonl (the held-out set) and manifest.json; the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    record = {**home_record(data.home), "index": "user", "split": "train"}
    (out / "home.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    for name, records in (("train", data.train), ("test", data.heldout)):
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for item in records:
                handle.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
    manifest = {
        "config": asdict(config),
        "counts": {
            "train": len(data.train),
            "own": data.own,
            "synthetic": len(data.train) - data.own,
            "heldout": len(data.heldout),
        },
        "intents": [s.name for s in data.schemas],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
