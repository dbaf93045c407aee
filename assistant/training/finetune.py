"""LoRA fine-tuning of the embedded base model on the generated data (``train`` extra).

The base is the GGUF the runtime ships (dequantized by transformers), so the
adapter is trained for exactly the weights llama.cpp will apply it to.  The
loss covers only the answer tokens (and the end-of-turn token): the prompt
is given, the model learns to write the call.  Fixed seeds, a progress bar,
CPU by default and CUDA when there is one.  The output directory gets the
peft adapter, the base's HF config and tokenizer (the converter needs them),
the GGUF adapter (``convert.py``) and ``report.json``.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assistant.errors import UserError
from assistant.models.hashing import sha256_file

from .dataset import write_dataset
from .format import END
from .prefix import PrefixedSet, encode_prefixed, prefixed_batches, prefixed_loss
from .recipe import Recipe, TrainConfig

log = logging.getLogger(__name__)


def locate_base(recipe: Recipe, given: Path | None = None) -> Path:
    """The base GGUF (`given`, else from its package), checked against the config's sha256."""
    import tempfile

    from assistant.models.catalog import load_catalog
    from assistant.models.embedded import find_embedded

    path = given
    if path is None:
        entry = load_catalog().get(recipe.base.catalog)
        path = find_embedded(entry, Path(tempfile.gettempdir()))
        if path is None or path.name != recipe.base.file:
            packages = ", ".join(entry.packages)
            raise UserError(f"base model {recipe.base.file} not found: install {packages}")
    if not path.is_file():
        raise UserError(f"base model {path} not found")
    digest = sha256_file(path)
    if digest != recipe.base.sha256:
        raise UserError(f"{path}: sha256 {digest} differs from the config's {recipe.base.sha256}")
    return path


def _device(torch: Any, wanted: str) -> str:
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return wanted


def _encode(tokenizer: Any, record: dict[str, Any], max_length: int) -> tuple[list[int], list[int]]:
    """Token ids and labels (-100 on the prompt) for one example, cut to max_length."""
    prompt = tokenizer(record["prompt"], add_special_tokens=False)["input_ids"]
    answer = tokenizer(record["answer"] + END, add_special_tokens=False)["input_ids"]
    ids = (prompt + answer)[-max_length:]
    labels = ([-100] * len(prompt) + answer)[-max_length:]
    return ids, labels


def _batches(examples: list[tuple[list[int], list[int]]], size: int, rng: random.Random) -> Any:
    """Endless shuffled batches (one epoch after another)."""
    while True:
        order = list(range(len(examples)))
        rng.shuffle(order)
        for start in range(0, len(order) - size + 1, size):
            yield [examples[i] for i in order[start : start + size]]


def _collate(torch: Any, batch: list[tuple[list[int], list[int]]], pad: int, device: Any) -> Any:
    width = max(len(ids) for ids, _ in batch)
    ids = [x + [pad] * (width - len(x)) for x, _ in batch]
    labels = [y + [-100] * (width - len(y)) for _, y in batch]
    mask = [[1] * len(x) + [0] * (width - len(x)) for x, _ in batch]
    return tuple(
        torch.tensor(rows, dtype=torch.long, device=device) for rows in (ids, labels, mask)
    )


def load_base(path: Path) -> tuple[Any, Any]:
    """(tokenizer, model) from the GGUF, dequantized to float32."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
    return tokenizer, model


def save_base_config(model: Any, tokenizer: Any, directory: Path) -> None:
    """The base's HF config and tokenizer, as llama.cpp's LoRA converter reads them.

    A config loaded from GGUF names no architecture and carries the GGUF
    quantization entry; the converter needs the first and chokes on the second.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config = model.config.to_dict()
    config["architectures"] = [type(model).__name__]
    config.pop("quantization_config", None)
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    (directory / "config.json").write_text(text, encoding="utf-8")
    tokenizer.save_pretrained(str(directory))


def _pad_id(tokenizer: Any) -> int:
    pad = tokenizer.pad_token_id
    return int(tokenizer.eos_token_id if pad is None else pad)


_MEASURED = 2  # steps timed before saying how long the rest will take


def _estimate(steps: int, per_step: float) -> str:
    """The line that says how long training will take, from the first steps' pace."""
    left = per_step * (steps - _MEASURED)
    return (
        f"training: {per_step:.1f} s/step over the first {_MEASURED} steps; "
        f"{steps - _MEASURED} more steps take about {left / 60:.0f} min ({left:.0f} s)"
    )


Examples = list[tuple[list[int], list[int]]] | PrefixedSet


def _steps(torch: Any, model: Any, examples: Examples, config: TrainConfig, pad: int) -> Any:
    """Endless (loss, tokens, examples) per batch: whole sequences, or with shared prefixes."""
    rng = random.Random(config.seed)
    device = next(model.parameters()).device
    if isinstance(examples, PrefixedSet):
        for batch in prefixed_batches(examples, config.batch, rng):
            loss, tokens = prefixed_loss(torch, model, examples, batch, pad)
            yield loss, tokens, len(batch)
    else:
        for rows in _batches(examples, config.batch, rng):
            ids, labels, mask = _collate(torch, rows, pad, device)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            yield loss, int(mask.sum().item()), len(rows)


def _train(
    torch: Any,
    model: Any,
    examples: Examples,
    config: TrainConfig,
    pad: int,
) -> tuple[list[float], int, int, float]:
    """The optimisation loop (AdamW, warm-up then cosine); (losses, tokens, examples, seconds)."""
    from tqdm import tqdm

    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=config.lr, weight_decay=0.0
    )
    steps, warm = config.steps, max(1, config.warmup_steps)

    def schedule(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    batches = _steps(torch, model, examples, config, pad)
    model.train()
    losses: list[float] = []
    tokens = seen = 0
    started = time.perf_counter()
    bar = tqdm(range(steps), desc="training", unit="step")
    for step in bar:
        loss, covered, size = next(batches)
        seen += size
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(float(loss.item()))
        tokens += covered
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
        if step + 1 == _MEASURED and steps > _MEASURED:
            bar.write(_estimate(steps, (time.perf_counter() - started) / _MEASURED))
    return losses, tokens, seen, time.perf_counter() - started


def run(
    recipe: Recipe, out: Path, data_dir: Path | None = None, base: Path | None = None
) -> dict[str, Any]:
    """Train the adapter of `recipe` into `out`; the report (also written as report.json)."""
    out.mkdir(parents=True, exist_ok=True)
    base = locate_base(recipe, base)
    start = check_start(Path(recipe.train.start), "[train] start =") if recipe.train.start else None
    data_dir = data_dir or out / "data"
    manifest = write_dataset(recipe.data, data_dir)
    train = [json.loads(line) for line in (data_dir / "train.jsonl").open(encoding="utf-8")]
    return fit(recipe, out, train, base=base, data=manifest, start=start)


def check_start(start: Path, flag: str = "--from") -> Path:
    """`start` if fit can train it further (a peft adapter directory, a GGUF adapter)."""
    if start.is_file() and start.suffix == ".gguf":
        from .from_gguf import open_adapter

        open_adapter(start, flag)
        return start  # turned back into a peft adapter by fit (from_gguf.py)
    if not (start / "adapter_config.json").is_file():
        raise UserError(
            f"{flag} {start}: neither a GGUF adapter nor a peft adapter directory (no "
            "adapter_config.json); give the adapter.gguf or adapter/ of a `train run` or "
            "`train home` output, or 'shipped'"
        )
    return start


def fit(
    recipe: Recipe,
    out: Path,
    train: list[dict[str, Any]],
    *,
    base: Path,
    data: dict[str, Any],
    start: Path | None = None,
) -> dict[str, Any]:
    """Fine-tune on `train` (a new LoRA, or the peft adapter `start` further) into `out`.

    Writes the peft adapter, the base's HF config, ``adapter.gguf`` and
    ``report.json`` (with `data`, what made the examples); returns the report.
    """
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.toml").write_text(recipe.text, encoding="utf-8")
    random.seed(recipe.train.seed)
    torch.manual_seed(recipe.train.seed)
    if recipe.train.threads > 0:
        torch.set_num_threads(recipe.train.threads)
    device = _device(torch, recipe.train.device)
    load_started = time.perf_counter()
    tokenizer, model = load_base(base)
    load_s = time.perf_counter() - load_started
    save_base_config(model, tokenizer, out / "base-hf")
    if start is None:
        lora = LoraConfig(
            r=recipe.lora.rank,
            lora_alpha=recipe.lora.alpha,
            lora_dropout=recipe.lora.dropout,
            target_modules=list(recipe.lora.targets),
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
    else:
        peft_dir = start
        if start.suffix == ".gguf":
            from .from_gguf import gguf_to_peft

            peft_dir = gguf_to_peft(start, out / "base-hf", out / "start")
        # The adapter's own shape (rank, targets) wins over [lora].
        try:
            model = PeftModel.from_pretrained(model, str(check_start(peft_dir)), is_trainable=True)
        except (RuntimeError, ValueError, KeyError) as error:  # another base's adapter
            why = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise UserError(f"--from {start}: not an adapter for {base.name} ({why})") from None
    model = model.to(device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    examples: Examples
    if recipe.train.shared_prefix:
        examples = encode_prefixed(tokenizer, train, recipe.train.max_length)
    else:
        examples = [_encode(tokenizer, r, recipe.train.max_length) for r in train]
    count = len(examples.examples if isinstance(examples, PrefixedSet) else examples)
    if count < recipe.train.batch:
        raise UserError(f"only {count} training examples for batches of {recipe.train.batch}")
    losses, tokens, seen, train_s = _train(torch, model, examples, recipe.train, _pad_id(tokenizer))
    model.save_pretrained(str(out / "adapter"))
    # peft's generated model card names the base by its local path, and llama.cpp's
    # converter copies that into the GGUF's metadata: a shipped file would carry it.
    (out / "adapter" / "README.md").unlink(missing_ok=True)
    report: dict[str, Any] = {
        "base": {"path": str(base), **asdict(recipe.base)},
        "from": str(start) if start else None,
        "data": data,
        "device": device,
        "threads": torch.get_num_threads(),
        "trainable_parameters": trainable,
        "examples": count,
        "shared_prefix": recipe.train.shared_prefix,
        "steps": recipe.train.steps,
        "tokens": tokens,
        "tokens_per_s": round(tokens / train_s, 1),
        "examples_seen": seen,
        "examples_per_s": round(seen / train_s, 2),
        "load_s": round(load_s, 1),
        "train_s": round(train_s, 1),
        "total_s": round(time.perf_counter() - started, 1),
        "loss_first": losses[0],
        "loss_last_10": sum(losses[-10:]) / len(losses[-10:]),
        "losses": [round(x, 4) for x in losses],
    }
    # Written before the conversion too: a failed conversion keeps the training numbers.
    write_report(out, report)
    from .convert import convert_adapter

    gguf = convert_adapter(
        out / "adapter", out / "base-hf", out / "adapter.gguf", recipe.output.gguf_type
    )
    report["adapter_gguf"] = {
        "path": str(gguf),
        "bytes": gguf.stat().st_size,
        "sha256": sha256_file(gguf),
    }
    write_report(out, report)
    return report


def write_report(out: Path, report: dict[str, Any]) -> None:
    """`out`/report.json."""
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
