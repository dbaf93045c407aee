"""`assistant train data|run|check`: the distilled home-control model's data and training.

`data` needs only the runtime install; `run` needs the `train` extra
(torch, transformers, peft, gguf); `check` needs llama-cpp-python (runtime).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import UserError

# What `run` imports (the `train` extra); checked first for one clear line.
TRAIN_MODULES = ("torch", "transformers", "peft", "gguf", "tqdm")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `train` with its three steps."""
    parser = sub.add_parser(
        "train",
        help="generate training data, fine-tune the home-control model, check an adapter",
        description="Build the distilled home-control model: synthetic homes and sentences "
        "(data), LoRA fine-tuning into a GGUF adapter (run, needs the 'train' extra), and a "
        "check of an adapter in llama.cpp under the grammar (check).",
        parents=[common],
    )
    steps = parser.add_subparsers(dest="step", metavar="STEP", required=True)
    data = steps.add_parser("data", help="write seeded train/dev/test JSONL")
    data.add_argument("--out", type=Path, required=True, help="output directory")
    data.add_argument("--seed", type=int, default=1, help="data seed (same seed, same bytes)")
    data.add_argument("--homes", type=int, default=50, help="number of synthetic homes")
    data.add_argument("--per-home", type=int, default=60, help="paraphrases+negatives per home")
    data.set_defaults(func=_data)
    run = steps.add_parser("run", help="LoRA fine-tuning -> GGUF adapter")
    # dest differs from the global --config (the assistant's own settings file).
    run.add_argument(
        "--config", dest="recipe", type=Path, required=True, help="training TOML config"
    )
    run.add_argument("--out", type=Path, help="output directory (default: the config's)")
    run.add_argument("--base", type=Path, help="base GGUF (default: from its package)")
    run.set_defaults(func=_run)
    check = steps.add_parser("check", help="load base + GGUF adapter, answer test sentences")
    check.add_argument("--adapter", type=Path, help="GGUF LoRA adapter (omit: the base alone)")
    check.add_argument("--data", type=Path, required=True, help="data directory (test.jsonl)")
    check.add_argument("--recipe", type=Path, required=True, help="training TOML config")
    check.add_argument("--limit", type=int, default=20, help="test sentences to try")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(func=_check)


def _data(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.training.dataset import DataConfig, write_dataset

    if args.homes < 1 or args.per_home < 1:
        raise UserError("--homes and --per-home must be at least 1")
    config = DataConfig(seed=args.seed, homes=args.homes, paraphrases_per_home=args.per_home)
    manifest = write_dataset(config, args.out)
    counts = manifest["counts"]
    print(f"{args.out}: train {counts['train']}, dev {counts['dev']}, test {counts['test']}")
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    import importlib.util

    from assistant.training.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    missing = [m for m in TRAIN_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(
            f"training needs the 'train' extra (pip install 'assistant[train]'): "
            f"{', '.join(missing)} missing"
        )
    from assistant.training.finetune import run

    report = run(recipe, args.out or Path(recipe.output.dir), base=args.base)
    gguf = report["adapter_gguf"]
    print(
        f"{gguf['path']}: {gguf['bytes'] / 1e6:.1f} MB sha256 {gguf['sha256']}; "
        f"{report['steps']} steps in {report['train_s']} s ({report['tokens_per_s']} tokens/s)"
    )
    return 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.training.check import check_adapter
    from assistant.training.finetune import locate_base
    from assistant.training.recipe import load_recipe

    base = locate_base(load_recipe(args.recipe))
    result = check_adapter(base, args.adapter, args.data, args.limit)
    if args.json:
        print(json.dumps(result.__dict__, ensure_ascii=False, indent=2))
    else:
        for sentence, output, label in result.samples:
            mark = "=" if output == label else "x"
            print(f"{mark} {sentence!r} -> {output} (label {label})")
        print(
            f"{result.parsed}/{result.tried} parsed, {result.exact}/{result.tried} exact, "
            f"{result.seconds_per_sentence:.2f} s/sentence"
        )
    return 0
