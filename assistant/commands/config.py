"""`assistant config show`: the effective configuration."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.config import Settings, to_toml


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `config` and its subcommands."""
    parser = sub.add_parser("config", help="show the effective configuration", parents=[common])
    inner = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = inner.add_parser("show", help="print the effective config as TOML", parents=[common])
    show.set_defaults(func=_show)


def _show(args: argparse.Namespace, settings: Settings) -> int:
    origin = settings.source or "built-in defaults"
    print(f"# effective configuration (from {origin})")
    print(to_toml(settings), end="")
    return 0
