"""A tiny training run, end to end: data -> LoRA -> GGUF adapter -> the runtime's model.

Real parts: the project's data generator, torch + peft on the GGUF base the
runtime ships, llama.cpp's own LoRA converter, and the runtime's model
worker (``LlmProcess``) loading base + adapter and answering under the
project's grammar.  A few dozen steps (models/training/tiny.toml): this
proves the pipeline, not the quality.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.commands.devices import collect
from assistant.config_file import load
from assistant.errors import UserError
from assistant.models.hashing import sha256_file
from assistant.training.dataset import DataConfig, llm_schemas
from assistant.training.finetune import locate_base
from assistant.training.format import prompt_text
from assistant.training.from_gguf import gguf_to_peft
from assistant.training.homes import make_home
from assistant.training.recipe import load_recipe
from assistant.understanding.factory import checked_adapter
from assistant.understanding.lists import vocabulary
from assistant.understanding.llm_process import LlmProcess
from assistant.understanding.prompt import TUNED_INSTRUCTIONS, tuned_prompt
from tests.test_training_home import NOOK, home_config, train_home

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "models" / "training" / "tiny.toml"
HOME = ROOT / "models" / "training" / "home.toml"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output directory of `assistant train run` on the tiny config."""
    out = tmp_path_factory.mktemp("tiny")
    result = subprocess.run(
        [sys.executable, "-m", "assistant.training", "run",
         "--config", str(TINY), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=1100,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def tuned(tiny_run: Path) -> Iterator[LlmProcess]:
    base = locate_base(load_recipe(TINY))
    model = LlmProcess(
        base, threads=2, context=1024, timeout_s=60.0, adapter=tiny_run / "adapter.gguf"
    )
    yield model
    model.close()


def _report(run: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((run / "report.json").read_text(encoding="utf-8"))
    return report


def test_the_run_writes_an_adapter_with_its_sha256_and_learns(tiny_run: Path) -> None:
    report = _report(tiny_run)
    adapter = tiny_run / "adapter.gguf"
    assert report["adapter_gguf"]["sha256"] == sha256_file(adapter)
    assert report["steps"] == load_recipe(TINY).train.steps == len(report["losses"])
    # The answer tokens get much likelier within a few dozen steps; a run that
    # does not learn (wrong labels, frozen weights) stays near its first loss.
    assert report["loss_last_10"] < 0.7 * report["loss_first"]
    # What made it is kept beside it.
    assert (tiny_run / "config.toml").read_text(encoding="utf-8") == TINY.read_text("utf-8")
    # Nothing of the machine that trained it travels in the adapter's metadata.
    from gguf import GGUFReader

    fields = GGUFReader(str(adapter)).fields
    text = " ".join(str(f.contents()) for k, f in fields.items() if not k.startswith("GGUF"))
    assert str(Path(sys.prefix)) not in text
    assert "site-packages" not in text


def test_the_runtime_model_loads_the_adapter_and_its_answers_parse(
    tiny_run: Path, tuned: LlmProcess
) -> None:
    assert tuned.info["adapter"] == str(tiny_run / "adapter.gguf")
    assert tuned.info["style"] == "chat"
    data = DataConfig(**json.loads((tiny_run / "data" / "manifest.json").read_text())["config"])
    with (tiny_run / "data" / "test.jsonl").open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle][::25][:4]
    assert records
    schemas = llm_schemas()
    for record in records:
        vocabulary = make_home(record["home"], data.seed).vocabulary()
        timings = tuned.warm(schemas, vocabulary)
        assert timings.prompt_tokens < 400  # the short tuned prompt: no few-shot block
        result = tuned.parse(record["text"], schemas, vocabulary)
        # The grammar holds the output to one intent call (or none) over this
        # home's names: it is JSON, and the validator's only objections are
        # about meaning, never syntax, truncation or time.
        json.loads(result.raw)
        assert result.error is None or result.error.startswith("invalid model output"), result


def test_the_tuned_prompt_is_the_one_it_was_trained_on(tiny_run: Path) -> None:
    with (tiny_run / "data" / "train.jsonl").open(encoding="utf-8") as handle:
        record = json.loads(handle.readline())
    assert record["prompt"].startswith("<|im_start|>system\n" + TUNED_INSTRUCTIONS)


def test_an_adapter_is_checked_before_use(tmp_path: Path) -> None:
    model = "smollm2-135m-instruct-q4_1"
    adapter = tmp_path / "adapter.gguf"
    with pytest.raises(UserError, match="no such file"):
        checked_adapter(model, str(adapter), None)
    adapter.write_bytes(b"GGUF not really")
    with pytest.raises(UserError, match="sha256 differs"):
        checked_adapter(model, str(adapter), "0" * 64)
    assert checked_adapter(model, str(adapter), sha256_file(adapter).upper()) == adapter
    assert checked_adapter(model, "off", None) is None
    # A model the project ships no adapter for gets its few-shot prompt.
    assert checked_adapter("gemma3-270m-q4_k_m", "auto", None) is None


def test_a_gguf_adapter_turns_back_into_the_peft_adapter_it_was_made_from(
    tiny_run: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    back = gguf_to_peft(tiny_run / "adapter.gguf", tiny_run / "base-hf", tmp_path / "back")
    made = json.loads((tiny_run / "adapter" / "adapter_config.json").read_text("utf-8"))
    again = json.loads((back / "adapter_config.json").read_text("utf-8"))
    assert again["r"] == made["r"]
    assert again["lora_alpha"] == made["lora_alpha"]
    assert sorted(again["target_modules"]) == sorted(made["target_modules"])
    original = load_file(str(tiny_run / "adapter" / "adapter_model.safetensors"))
    restored = load_file(str(back / "adapter_model.safetensors"))
    assert sorted(original) == sorted(restored)
    assert any(".k_proj.lora_B" in key for key in original)  # the re-ordered rows
    for key, tensor in original.items():
        want, got = tensor.float(), restored[key].float()
        # f16 in the GGUF: equal to its rounding, rows in the same order.
        assert (want - got).abs().max() <= 2e-3 * want.abs().max(), key


def test_train_home_goes_on_from_the_shipped_adapter_to_this_homes_names(tmp_path: Path) -> None:
    config = home_config(tmp_path)
    recipe = tmp_path / "home.toml"  # small batches: this proves the step, not the quality
    recipe.write_text(re.sub(r"(?m)^batch = \d+", "batch = 2", HOME.read_text("utf-8")), "utf-8")
    out = tmp_path / "home"
    result = train_home(
        # The package ships only the GGUF adapter: it is turned back into a peft one first.
        config, "--recipe", str(recipe), "--from", "shipped", "--out", str(out),
        "--steps", "3", "--examples", "12", "--heldout", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = _report(out)
    adapter = out / "adapter.gguf"
    sha = sha256_file(adapter)
    # The two config lines to add, and the idle run's estimate after its first steps.
    assert f"llm_adapter = {json.dumps(str(adapter.resolve()))}" in result.stdout
    assert f'llm_adapter_sha256 = "{sha}"' in result.stdout
    assert report["adapter_gguf"]["sha256"] == sha
    assert "s/step over the first 2 steps; 1 more steps take about" in result.stdout
    shipped = checked_adapter(load_recipe(HOME).base.catalog, "auto", None)
    assert report["from"] == str(shipped)
    assert (out / "start" / "adapter_model.safetensors").is_file()
    assert report["steps"] == len(report["losses"]) == 3
    assert report["check"]["tried"] == 1

    # Trained on the live home's names, with exactly the prompt the runtime builds for it.
    live = vocabulary(asyncio.run(collect(load(config, environ={}))))
    assert NOOK in tuned_prompt(live).prefix
    with (out / "data" / "train.jsonl").open(encoding="utf-8") as handle:
        own = [r for r in map(json.loads, handle) if r["home"] == "user"]
    assert len(own) == 12
    assert all(r["prompt"] == prompt_text(live, r["text"]) for r in own)

    base = locate_base(load_recipe(TINY))
    model = LlmProcess(base, threads=2, context=1024, timeout_s=60.0, adapter=adapter)
    try:
        assert model.info["adapter"] == str(adapter)
        schemas = llm_schemas()
        assert model.warm(schemas, live).prompt_tokens < 400  # the short tuned prompt
        answer = model.parse("turn on grandma's reading nook lamp", schemas, live)
        json.loads(answer.raw)  # the grammar holds it to a call over this home's names
        assert answer.error is None or answer.error.startswith("invalid model output"), answer
    finally:
        model.close()
