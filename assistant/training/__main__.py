"""`python -m assistant.training STEP`: `assistant train` without the rest of the CLI.

A training venv (the `train` extra plus what the data generator imports)
need not hold the voice stack that `assistant`'s other commands import.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant.commands import train
from assistant.config import ConfigError
from assistant.config_file import load
from assistant.errors import UserError


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the `train` arguments and run the step."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m assistant.training")
    common = argparse.ArgumentParser(add_help=False)
    # The assistant's own settings (`home` reads the devices from them).
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="TOML config file")
    train.register(parser.add_subparsers(dest="command", required=True), common)
    args = parser.parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
    try:
        settings = load(getattr(args, "config", None), os.environ)
        code: int = args.func(args, settings)
    except (ConfigError, UserError) as error:
        print(f"assistant: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
