"""`python -m assistant.training data|run|check`: `assistant train` without the rest of the CLI.

A training venv (the `train` extra plus what the data generator imports)
need not hold the voice stack that `assistant`'s other commands import.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from assistant.commands import train
from assistant.config import Settings
from assistant.errors import UserError


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the `train` arguments and run the step."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m assistant.training")
    train.register(
        parser.add_subparsers(dest="command", required=True),
        argparse.ArgumentParser(add_help=False),
    )
    args = parser.parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
    try:
        code: int = args.func(args, Settings())
    except UserError as error:
        print(f"assistant: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
