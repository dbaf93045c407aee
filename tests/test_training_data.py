"""The distilled model's training data: reproducible, split cleanly, labelled validly.

Real parts only: Home Assistant's templates through hassil, the project's
handlers' schemas, its validator and its grammar's output parser.  No torch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from assistant.cli import main
from assistant.devices.entities import DOMAINS
from assistant.errors import UserError
from assistant.training.dataset import SPLITS, DataConfig, llm_schemas, write_dataset
from assistant.training.homes import make_home
from assistant.training.negatives import OTHER_HOMES, missing_names
from assistant.training.recipe import load_recipe
from assistant.understanding.calls import IntentCall
from assistant.understanding.grammar import NONE_CALL, parse_output, render_calls
from assistant.understanding.validate import validate_call

ROOT = Path(__file__).resolve().parents[1]
CONFIG = DataConfig(seed=3, homes=20, paraphrases_per_home=40)


def _read(directory: Path, split: str) -> list[dict[str, Any]]:
    with (directory / f"{split}.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("data")
    write_dataset(CONFIG, out)
    return {split: _read(out, split) for split in SPLITS}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    small = DataConfig(seed=5, homes=4, paraphrases_per_home=20)
    for name in ("a", "b"):
        write_dataset(small, tmp_path / name)
    write_dataset(DataConfig(seed=6, homes=4, paraphrases_per_home=20), tmp_path / "c")
    for file in ("homes.jsonl", "train.jsonl", "test.jsonl", "dev.jsonl", "manifest.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file
    assert (tmp_path / "a/train.jsonl").read_bytes() != (tmp_path / "c/train.jsonl").read_bytes()


def test_splits_share_no_home_and_no_pattern(dataset: dict[str, list[dict[str, Any]]]) -> None:
    homes = {split: {r["home"] for r in records} for split, records in dataset.items()}
    patterns = {split: {r["pattern"] for r in records} for split, records in dataset.items()}
    assert all(homes.values()), homes
    for one, other in (("train", "test"), ("train", "dev"), ("dev", "test")):
        assert not homes[one] & homes[other], (one, other)
        assert not patterns[one] & patterns[other], (one, other, patterns[one] & patterns[other])
    test_sources = {r["source"] for r in dataset["test"]}
    assert test_sources == {"template", "paraphrase", "negative"}


def test_every_positive_label_validates_against_its_home(
    dataset: dict[str, list[dict[str, Any]]],
) -> None:
    schemas = llm_schemas()
    by_name = {s.name: s for s in schemas}
    checked = 0
    for records in dataset.values():
        for record in records:
            if not record["calls"]:
                continue
            vocabulary = make_home(record["home"], CONFIG.seed).vocabulary()
            calls = []
            for item in record["calls"]:
                slots = {k: v for k, v in item.items() if k != "intent"}
                call = IntentCall(item["intent"], slots)
                assert validate_call(call, by_name, vocabulary) == call, record
                calls.append(call)
            # The answer is exactly what the grammar writes, and parses back.
            assert record["answer"] == render_calls(calls, schemas)
            assert parse_output(record["answer"], schemas, vocabulary) == calls
            assert record["prompt"].endswith("<|im_start|>assistant\n")
            checked += 1
    assert checked > 500


def test_negatives_have_no_call(dataset: dict[str, list[dict[str, Any]]]) -> None:
    negatives = [r for records in dataset.values() for r in records if r["source"] == "negative"]
    assert len(negatives) > 50
    for record in negatives:
        assert record["calls"] == []
        assert record["answer"] == NONE_CALL
    missing = [r for r in negatives if r["pattern"].startswith("none.missing")]
    assert missing, "no sentence about a device the home lacks"


def test_a_device_the_home_lacks_is_asked_for_on_and_off_and_shares_no_word_with_it(
    dataset: dict[str, list[dict[str, Any]]],
) -> None:
    # The shipped v1 model turned "switch off the karaoke machine" into a call on
    # another device: training had only switched missing devices on.
    missing = [r for rs in dataset.values() for r in rs if r["pattern"].startswith("none.missing")]
    for record in missing:
        home = make_home(record["home"], CONFIG.seed)
        vocabulary = home.vocabulary()
        said = {
            w
            for n in (*vocabulary.names, *vocabulary.areas, *vocabulary.floors)
            for w in re.findall(r"[a-z]+", n.casefold())
        }
        device = next(m for m in missing_names(home) if m in record["text"])
        assert not set(device.split()) & said, (device, record["text"])
    train = {r["text"] for r in dataset["train"] if r["pattern"].startswith("none.missing")}
    assert any(" off" in t for t in train)
    assert any(" on" in t for t in train)
    assert any(name.lower() in t for t in train for name in OTHER_HOMES)


def test_every_domain_is_a_target(dataset: dict[str, list[dict[str, Any]]]) -> None:
    covered: set[str] = set()
    for records in dataset.values():
        for record in records:
            home = make_home(record["home"], CONFIG.seed)
            names = {n: e.domain for e in home.entities for n in (e.name, *e.aliases)}
            for call in record["calls"]:
                if "name" in call and call["intent"] not in ("HassCancelTimer", "HassStartTimer"):
                    covered.add(names[call["name"]])
                if "domain" in call:
                    covered.add(call["domain"])
    assert covered == set(DOMAINS), set(DOMAINS) - covered


def test_everyday_speech_is_there(dataset: dict[str, list[dict[str, Any]]]) -> None:
    records = [r for records in dataset.values() for r in records]
    families = {r["pattern"].split(":")[0] for r in records if r["source"] == "paraphrase"}
    for family in ("dark.area", "bright.half", "bright.max", "kind.on", "kind.open", "two.mixed"):
        assert family in families
    assert any(r["noise"] for r in records)
    assert any("fifty" in r["text"] or "forty" in r["text"] for r in records)


def test_compounds_mix_commands_and_device_talk_asks_nothing(
    dataset: dict[str, list[dict[str, Any]]],
) -> None:
    # v2 copied the first command's intent onto the second ("dim the floor lamp
    # to 30 and draw the blinds" set the blinds' brightness), and "the old fan
    # was so noisy" switched a fan off: compounds of two different commands,
    # and talk about the home's own devices labelled as no call.
    records = [r for records in dataset.values() for r in records]
    mixed = [r for r in records if r["pattern"].startswith("two.any:")]
    assert any(r["calls"][0]["intent"] != r["calls"][1]["intent"] for r in mixed)
    assert all(len(r["calls"]) == 2 and r["calls"][0] != r["calls"][1] for r in mixed)
    talk = [r for r in records if r["pattern"].startswith("none.device:")]
    assert talk
    assert all(r["calls"] == [] for r in talk)
    for record in talk:
        home = make_home(record["home"], CONFIG.seed)
        names = {n.lower() for e in home.entities for n in (e.name, *e.aliases)}
        assert any(name in record["text"] for name in names), record["text"]
    timers = [r["calls"] for r in records if r["pattern"].startswith("timer.hours:")]
    assert timers
    assert all(set(calls[0]) == {"intent", "hours"} for calls in timers)


def test_cli_writes_the_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "data", "--out", str(tmp_path), "--seed", "2", "--homes", "3"])
    assert code == 0
    assert "train" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["config"]["seed"] == 2
    assert manifest["counts"]["train"] > 0
    assert manifest["counts"]["test"] > 0


def test_committed_training_configs_load_and_bad_ones_say_why(tmp_path: Path) -> None:
    for path in sorted((ROOT / "models/training").glob("*.toml")):
        recipe = load_recipe(path)
        assert recipe.base.sha256
        assert recipe.lora.rank > 0
        assert recipe.train.steps > 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[base]\ncatalog = "x"\nfile = "y"\nsha256 = "z"\n[lora]\nrnak = 4\n')
    with pytest.raises(UserError, match=r"\[lora\] has unknown key\(s\) rnak"):
        load_recipe(bad)


def test_a_config_that_goes_on_from_a_missing_adapter_says_so_before_any_work(
    tmp_path: Path,
) -> None:
    from assistant.training.finetune import run

    text = (ROOT / "models/training/smollm2-lora-cpu-v2.toml").read_text(encoding="utf-8")
    recipe_path = tmp_path / "v2.toml"
    recipe_path.write_text(
        text.replace('"build/training/smollm2-lora-cpu/adapter"', f'"{tmp_path / "nowhere"}"')
    )
    recipe = load_recipe(recipe_path)
    with pytest.raises(
        UserError, match=r"\[train\] start = .*nowhere: neither a GGUF adapter nor a peft"
    ):
        run(recipe, tmp_path / "out")
    assert not (tmp_path / "out" / "data").exists()
