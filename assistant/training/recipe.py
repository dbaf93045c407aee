"""The training config file (TOML): base model, data, LoRA, optimiser, output, home.

Parsed into frozen dataclasses with one clear line for any missing or
mistyped key.  Pure: no torch here, so the CLI can check a config without
the ``train`` extra.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from assistant.errors import UserError

from .dataset import DataConfig


@dataclass(frozen=True)
class BaseModel:
    """The shipped GGUF the adapter is trained for."""

    catalog: str
    file: str
    sha256: str


@dataclass(frozen=True)
class LoraConfig:
    """LoRA shape."""

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and batches."""

    seed: int = 1
    steps: int = 100
    batch: int = 8
    lr: float = 3e-4
    warmup_steps: int = 10
    max_length: int = 320
    device: str = "auto"
    threads: int = 0
    shared_prefix: bool = False  # one home per batch, its system part evaluated once (prefix.py)
    start: str = ""  # a peft adapter directory (another run's adapter/) to go on training


@dataclass(frozen=True)
class OutputConfig:
    """Where the run writes, and the GGUF adapter's float type."""

    dir: str = "build/training/run"
    gguf_type: str = "f16"


@dataclass(frozen=True)
class HomeConfig:
    """`assistant train home`: how many of the user's own sentences, and what else is mixed in."""

    examples: int = 400  # the user's home's sentences to train on
    heldout: int = 20  # more of them, in wordings not trained on, for the check
    synthetic_share: float = 0.3  # share of synthetic homes' sentences (so it does not forget)


@dataclass(frozen=True)
class Recipe:
    """A whole training config."""

    base: BaseModel
    data: DataConfig
    lora: LoraConfig
    train: TrainConfig
    output: OutputConfig
    path: Path
    text: str
    home: HomeConfig = HomeConfig()


def _section(cls: type[Any], table: Any, name: str, path: Path) -> Any:
    if not isinstance(table, dict):
        raise UserError(f"{path}: [{name}] must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise UserError(f"{path}: [{name}] has unknown key(s) {', '.join(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
    try:
        return cls(**values)
    except TypeError as error:
        raise UserError(f"{path}: [{name}] {error}") from None


def load_recipe(path: Path) -> Recipe:
    """Read and check a training config; UserError naming the file on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as error:
        raise UserError(f"{path}: cannot read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: not valid TOML ({error})") from None
    for name in ("base", "data", "lora", "train", "output", "home"):
        data.setdefault(name, {})
    if not data["base"]:
        raise UserError(f"{path}: [base] is missing")
    return Recipe(
        base=_section(BaseModel, data["base"], "base", path),
        data=_section(DataConfig, data["data"], "data", path),
        lora=_section(LoraConfig, data["lora"], "lora", path),
        train=_section(TrainConfig, data["train"], "train", path),
        output=_section(OutputConfig, data["output"], "output", path),
        path=path,
        text=text,
        home=_section(HomeConfig, data["home"], "home", path),
    )
