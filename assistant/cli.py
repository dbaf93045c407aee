"""The `assistant` command: parse argv, call the layer, print.

Subcommands live in ``assistant/commands/<name>.py``; each module exposes
``register(subparsers, common)`` and sets ``func`` on its parser.  The
function receives the parsed namespace and the loaded settings and returns
the exit code.  This file is the only one that reads argv and the
environment.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant import __version__, commands
from assistant.config import ConfigError, secrets
from assistant.config_file import load
from assistant.cpu.budget import limit_numeric_threads
from assistant.errors import UserError
from assistant.service.memory import limit_malloc_arenas
from assistant.textsafe import clean, install_log_filter

log = logging.getLogger("assistant")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every subcommand module found in assistant.commands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="TOML config file (else $ASSISTANT_CONFIG, else /etc/assistant/config.toml)",
    )
    common.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more log output"
    )
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Offline voice assistant for smart-home gateways.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"assistant {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub, common)
    return parser


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * verbosity
    logging.basicConfig(
        level=max(level, logging.DEBUG),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Log lines quote names and topics from the network: no terminal escapes.
    install_log_filter()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    limit_malloc_arenas()
    # Before any subcommand imports numpy: its BLAS gets one thread (assistant/cpu/budget.py).
    limit_numeric_threads(os.environ)
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(getattr(args, "verbose", 0) + 1)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        settings = load(getattr(args, "config", None), os.environ)
        install_log_filter(secrets(settings))
        code: int = args.func(args, settings)
    except (ConfigError, UserError) as exc:
        print(f"assistant: {clean(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error for the user.
        sys.stderr.close()
        return 0
    return code


if __name__ == "__main__":
    raise SystemExit(main())
