"""`assistant train home`'s data and arguments: the configured home's own names and intents.

Real parts: the assistant's config loader and device backend (``[[devices]]``
with ``[mqtt] enabled = false``: no broker), the project's data generator,
and hassil on a user's intents directory (tests/fixtures/intents).  The
training itself, from the tiny run's adapter, is in test_training_run.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant.understanding.prompt import TUNED_INSTRUCTIONS

ROOT = Path(__file__).resolve().parents[1]
INTENTS = ROOT / "tests" / "fixtures" / "intents"
NOOK = "Grandma's Reading Nook Lamp"
SNAKE = "Barnaby the Snake Heater"

HOME = f"""
[mqtt]
enabled = false

[areas."Sewing Room"]
floor = "Attic Floor"

[[devices]]
name = "{NOOK}"
kind = "light"
area = "Sewing Room"
aliases = ["nook lamp"]
command_topic = "nook/lamp/set"

[[devices]]
name = "{SNAKE}"
kind = "switch"
area = "Terrarium Corner"
command_topic = "snake/heater/set"
"""

pytestmark = pytest.mark.timeout(600)


def home_config(tmp_path: Path, *, intents: bool = False) -> Path:
    """A config naming devices no synthetic home has (and, optionally, its own intent)."""
    config = tmp_path / "config.toml"
    extra = f'\n[understanding]\nintents_dir = "{INTENTS}"\n' if intents else ""
    config.write_text(HOME + extra, encoding="utf-8")
    return config


def train_home(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`assistant train home --config CONFIG ARGS` in its own process."""
    # Not the caller's config overrides; a local LoRA converter is fine.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ASSISTANT_") or k == "ASSISTANT_LORA_CONVERTER"
    }
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "train", "home", "--config", str(config), *args],
        capture_output=True, text=True, check=False, timeout=580, env=env,
    )  # fmt: skip


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_the_data_is_the_configured_homes_names_and_intents(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = train_home(
        home_config(tmp_path, intents=True),
        "--data-only", "--out", str(out), "--examples", "120", "--heldout", "10",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2 devices in 2 areas: 120 of their sentences")
    home = json.loads((out / "data" / "home.json").read_text(encoding="utf-8"))
    assert {e["name"]: e["aliases"] for e in home["entities"]} == {NOOK: ["nook lamp"], SNAKE: []}
    assert home["floors"] == {"Sewing Room": "Attic Floor"}

    manifest = json.loads((out / "data" / "manifest.json").read_text(encoding="utf-8"))
    assert "GoodNight" in manifest["intents"]  # the user's intent is offered to the model
    train = _jsonl(out / "data" / "train.jsonl")
    own = [r for r in train if r["home"] == "user"]
    assert len(own) == manifest["counts"]["own"] == 120
    # Synthetic homes' sentences are mixed in, so it does not forget other homes.
    assert len(train) - len(own) == manifest["counts"]["synthetic"] > 0
    answers = " ".join(r["answer"] for r in own)
    assert f'"name":"{NOOK}"' in answers
    assert f'"name":"{SNAKE}"' in answers
    assert '"intent":"GoodNight"' in answers  # sampled from the user's own sentences
    for record in own:
        system = record["prompt"].split("<|im_start|>user")[0]
        assert system.startswith("<|im_start|>system\n" + TUNED_INSTRUCTIONS)
        assert NOOK in system
        assert "Attic Floor" in system

    heldout = _jsonl(out / "data" / "test.jsonl")
    assert len(heldout) == 10
    assert {r["home"] for r in heldout} == {"user"}
    # Held out means unseen wordings: no paraphrase pattern is in both.
    trained = {r["pattern"] for r in own if r["source"] == "paraphrase"}
    assert not trained & {r["pattern"] for r in heldout if r["source"] == "paraphrase"}


def test_a_bad_from_is_one_clear_line(tmp_path: Path) -> None:
    config = home_config(tmp_path)
    missing = train_home(config, "--from", str(tmp_path / "nowhere"), "--out", str(tmp_path))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"assistant: --from {tmp_path / 'nowhere'}: neither a GGUF adapter nor a peft adapter "
        "directory (no adapter_config.json); give the adapter.gguf or adapter/ of a `train "
        "run` or `train home` output, or 'shipped'"
    ]
    gguf = tmp_path / "adapter.gguf"
    gguf.write_bytes(b"GGUF")
    refused = train_home(config, "--from", str(gguf), "--out", str(tmp_path))
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1
    assert f"--from {gguf}: not a readable GGUF file" in refused.stderr
    assert not (tmp_path / "adapter.gguf").with_name("report.json").exists()


def test_a_home_without_devices_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "empty.toml"
    config.write_text("[mqtt]\nenabled = false\n", encoding="utf-8")
    result = train_home(config, "--data-only", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "assistant: no devices found in the configured home: nothing to teach"
    ]
