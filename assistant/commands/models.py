"""`assistant models list | download NAME | verify [NAME]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.models import ModelStore
from assistant.models.download import download


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `models` and its actions."""
    catalog = argparse.ArgumentParser(add_help=False)
    catalog.add_argument(
        "--catalog", type=Path, help="model catalog file (override [models] catalog)"
    )
    parser = sub.add_parser(
        "models", help="list, download and verify models", parents=[common, catalog]
    )
    inner = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    show = inner.add_parser(
        "list", help="every supported model and where it is", parents=[common, catalog]
    )
    show.set_defaults(func=_list)
    get = inner.add_parser(
        "download", help="download, check and install a model", parents=[common, catalog]
    )
    get.add_argument("name", metavar="NAME")
    get.add_argument("--force", action="store_true", help="download again even if installed")
    get.set_defaults(func=_download)
    check = inner.add_parser(
        "verify", help="check present models against their sha256", parents=[common, catalog]
    )
    check.add_argument("name", nargs="?", metavar="NAME", help="one model (default: all present)")
    check.set_defaults(func=_verify)


def _store(args: argparse.Namespace, settings: Settings) -> ModelStore:
    return ModelStore.from_settings(settings, getattr(args, "catalog", None))


def _list(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(args, settings)
    print(f"models directory: {store.directory}")
    rows = [("NAME", "ROLE", "ENGINE", "LANG", "SIZE", "STATUS", "LICENSE")]
    for entry in store.catalog.model:
        status = store.status(entry.name)
        size = f"{entry.approx_size_mb} MB" if entry.approx_size_mb else "-"
        flag = " (default)" if entry.default else ""
        rows.append(
            (
                entry.name + flag,
                entry.role,
                entry.engine,
                entry.language,
                size,
                status.source,
                entry.license.split(" (")[0],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _download(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(args, settings)
    path, fresh = download(store, args.name, force=args.force)
    if fresh:
        print(f"{args.name}: installed at {path}")
    else:
        print(f"{args.name}: already installed at {path}")
    return 0


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(args, settings)
    if args.name:
        names = [args.name]
    else:
        names = [e.name for e in store.catalog.model if store.status(e.name).source != "missing"]
    failed = 0
    for name in names:
        result = store.verify(name)
        mark = "ok" if result.ok else "FAILED"
        print(f"{name}: {mark}: {result.detail}")
        if not result.ok:
            failed += 1
            if store.catalog.get(name).downloadable:
                print(f"  fix: assistant models download --force {name}", file=sys.stderr)
    return 1 if failed else 0
