"""`assistant config show`: the effective configuration, secrets masked."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.config import SECRET_KEYS, Settings

MASK = "***"


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `config` and its subcommands."""
    parser = sub.add_parser("config", help="show the effective configuration", parents=[common])
    inner = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = inner.add_parser("show", help="print the effective config as TOML", parents=[common])
    show.set_defaults(func=_show)


def _show(args: argparse.Namespace, settings: Settings) -> int:
    origin = settings.source or "built-in defaults"
    print(f"# effective configuration (from {origin}; secrets shown as {MASK})")
    print(to_toml(settings), end="")
    return 0


def to_toml(settings: Settings) -> str:
    """Render effective settings as TOML, secrets shown as "***"."""
    dumped = settings.model_dump(mode="json", exclude_none=True)
    for section, key in SECRET_KEYS:
        # Shown as set, never with its value: the output gets pasted into bug reports.
        if key in dumped.get(section, {}):
            dumped[section][key] = MASK
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    arrays: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in dumped.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for name, table in tables:
        _emit_table(lines, name, table)
    for name, items in arrays:
        for item in items:
            lines.append(f"\n[[{name}]]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in item.items())
    return "\n".join(lines).strip() + "\n"


def _emit_table(lines: list[str], name: str, table: dict[str, Any]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    nested = {k: v for k, v in table.items() if isinstance(v, dict)}
    if scalars or not nested:
        lines.append(f"\n[{name}]")
        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items())
    for key, sub in nested.items():
        _emit_table(lines, f"{name}.{_toml_key(key)}", sub)


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else f'"{key}"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
