"""`assistant train data|run|check|home`: the distilled home-control model's data and training.

`data` needs only the runtime install; `run` and `home` need the `train`
extra (torch, transformers, peft, gguf); `check` needs llama-cpp-python
(runtime).  `home` adapts an adapter to the user's own home (optional).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.errors import UserError

if TYPE_CHECKING:
    from assistant.training.recipe import Recipe
    from assistant.training.userhome import HomeData

# What `run` imports (the `train` extra); checked first for one clear line.
TRAIN_MODULES = ("torch", "transformers", "peft", "gguf", "tqdm")
# `train home`'s config in a source checkout (scripts/train's .venv).
HOME_RECIPE = Path(__file__).resolve().parents[2] / "models" / "training" / "home.toml"


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
    home = steps.add_parser(
        "home",
        help="adapt the model to this home's names and intents (optional, at idle priority)",
        description="Fine-tune on sentences about the devices, areas and floors of the "
        "configured home (--config, as `run` reads it) and its own intents, mixed with "
        "synthetic homes; writes adapter.gguf and report.json and prints the config lines.",
        parents=[common],
    )
    home.add_argument("--recipe", type=Path, default=HOME_RECIPE, help="training TOML config")
    home.add_argument(
        "--from",
        dest="start",
        type=Path,
        help="adapter to go on from: 'shipped', an adapter.gguf, or a peft adapter/ directory",
    )
    home.add_argument("--out", type=Path, help="output directory (default: the recipe's)")
    home.add_argument("--base", type=Path, help="base GGUF (default: from its package)")
    home.add_argument("--steps", type=int, help="training steps (default: the recipe's)")
    home.add_argument("--lr", type=float, help="learning rate (default: the recipe's)")
    home.add_argument("--examples", type=int, help="own sentences to train on")
    home.add_argument("--heldout", type=int, help="own sentences held out for the check")
    home.add_argument(
        "--data-only", action="store_true", help="write the sentences (OUT/data) and stop"
    )
    home.set_defaults(func=_home)


def _data(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.training.dataset import DataConfig, write_dataset

    if args.homes < 1 or args.per_home < 1:
        raise UserError("--homes and --per-home must be at least 1")
    config = DataConfig(seed=args.seed, homes=args.homes, paraphrases_per_home=args.per_home)
    manifest = write_dataset(config, args.out)
    counts = manifest["counts"]
    print(f"{args.out}: train {counts['train']}, dev {counts['dev']}, test {counts['test']}")
    return 0


def _need_train_extra() -> None:
    import importlib.util

    missing = [m for m in TRAIN_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(
            f"training needs the 'train' extra (pip install 'assistant[train]'): "
            f"{', '.join(missing)} missing"
        )


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.training.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    _need_train_extra()
    from assistant.training.finetune import run

    report = run(recipe, args.out or Path(recipe.output.dir), base=args.base)
    _print_report(report)
    return 0


def _print_report(report: dict[str, Any]) -> None:
    gguf = report["adapter_gguf"]
    print(
        f"{gguf['path']}: {gguf['bytes'] / 1e6:.1f} MB sha256 {gguf['sha256']}; "
        f"{report['steps']} steps in {report['train_s']} s ({report['tokens_per_s']} tokens/s)"
    )


def _home_recipe(args: argparse.Namespace) -> Recipe:
    """The recipe with the command line's --steps, --lr, --examples, --heldout."""
    import dataclasses

    from assistant.training.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    flags = {"steps": args.steps, "lr": args.lr}
    train = dataclasses.replace(recipe.train, **{k: v for k, v in flags.items() if v is not None})
    sizes = {"examples": args.examples, "heldout": args.heldout}
    wanted = dataclasses.replace(recipe.home, **{k: v for k, v in sizes.items() if v is not None})
    if train.steps < 1 or wanted.examples < 1 or wanted.heldout < 0:
        raise UserError("--steps and --examples must be at least 1, --heldout at least 0")
    return dataclasses.replace(recipe, train=train, home=wanted)


def _home_data(args: argparse.Namespace, settings: Settings, recipe: Recipe) -> HomeData:
    """The configured home's sentences, written to OUT/data; the counts printed."""
    import asyncio

    from assistant.commands.devices import collect
    from assistant.training.userhome import home_data, home_from_registry, write_home_data

    home = home_from_registry(asyncio.run(collect(settings)))
    data = home_data(home, recipe.data, recipe.home, settings)
    counts = write_home_data(data, recipe.data, _home_out(args, recipe) / "data")["counts"]
    print(
        f"{len(home.entities)} devices in {len(home.areas)} areas: {counts['own']} of their "
        f"sentences and {counts['synthetic']} of other homes to train on, "
        f"{counts['heldout']} held out",
        flush=True,
    )
    return data


def _home_out(args: argparse.Namespace, recipe: Recipe) -> Path:
    out: Path = args.out or Path(recipe.output.dir)
    return out


def _home(args: argparse.Namespace, settings: Settings) -> int:
    import os

    os.nice(19)  # idle priority: never compete with an utterance on the same gateway
    recipe = _home_recipe(args)
    if args.data_only:
        _home_data(args, settings, recipe)
        return 0
    _need_train_extra()
    from assistant.training.check import check_adapter
    from assistant.training.finetune import check_start, fit, locate_base, write_report

    start = check_start(_shipped(recipe, args.start)) if args.start else None
    base = locate_base(recipe, args.base)
    data = _home_data(args, settings, recipe)
    out = _home_out(args, recipe)
    manifest = json.loads((out / "data" / "manifest.json").read_text(encoding="utf-8"))
    report = fit(recipe, out, data.train, base=base, data=manifest, start=start)
    _print_report(report)
    gguf = Path(report["adapter_gguf"]["path"]).resolve()
    if data.heldout:
        result = check_adapter(
            base, gguf, out / "data", len(data.heldout), home=data.home, schemas=data.schemas
        )
        report["check"] = {k: v for k, v in result.__dict__.items() if k != "samples"}
        write_report(out, report)
        print(f"held out: {result.parsed}/{result.tried} parsed, {result.exact} exact")
    print("add to your config:\n[understanding]")
    print(f"llm_adapter = {json.dumps(str(gguf))}")
    print(f'llm_adapter_sha256 = "{report["adapter_gguf"]["sha256"]}"')
    return 0


def _shipped(recipe: Recipe, start: Path) -> Path:
    """`--from shipped`: the adapter the package ships for the recipe's base, checked."""
    if str(start) != "shipped":
        return start
    from assistant.understanding.factory import checked_adapter

    path = checked_adapter(recipe.base.catalog, "auto", None)
    if path is None:
        raise UserError(f"--from shipped: no adapter ships for {recipe.base.catalog}")
    return path


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
