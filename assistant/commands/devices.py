"""`assistant devices`: the entities the assistant learned, and their state."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from assistant.config import Settings
from assistant.devices.backend import open_backend
from assistant.devices.registry import Registry
from assistant.textsafe import NAME_LIMIT, clean, json_safe


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `devices`."""
    parser = sub.add_parser(
        "devices",
        help="list the entities learned from MQTT discovery, Zigbee2MQTT and the config",
        parents=[common],
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.set_defaults(func=_run)


async def collect(settings: Settings) -> Registry:
    """Open the configured device backend once it knows the home; return its registry.

    The same backend every command uses (``open_backend``), without the
    reconnect loop: an unreachable broker or server is one error line.
    """
    async with open_backend(settings, reconnect=False) as devices:
        return devices.registry


def rows(registry: Registry) -> list[dict[str, Any]]:
    """One JSON-ready object per entity."""
    result = []
    for entity in registry.entities():
        state = registry.state(entity.entity_id)
        result.append(
            {
                "entity_id": entity.entity_id,
                "name": entity.name,
                "aliases": list(entity.aliases),
                "area": entity.area,
                "kind": entity.domain,
                "state": state.state,
                "source": entity.source,
                "available": state.available,
            }
        )
    return result


def table_lines(items: list[dict[str, Any]]) -> list[str]:
    """The human table: one escaped, capped line per entity (names come from the network)."""
    header = ("ENTITY", "NAME", "AREA", "STATE", "SOURCE")
    table = [header] + [
        tuple(
            clean(cell, NAME_LIMIT)
            for cell in (
                i["entity_id"],
                i["name"] + (f" ({', '.join(i['aliases'])})" if i["aliases"] else ""),
                i["area"] or "-",
                (i["state"] or "-") if i["available"] else "unavailable",
                i["source"],
            )
        )
        for i in items
    ]
    widths = [max(len(row[c]) for row in table) for c in range(len(header))]
    return [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in table
    ]


def _run(args: argparse.Namespace, settings: Settings) -> int:
    registry = asyncio.run(collect(settings))
    items = rows(registry)
    if args.json:
        print(json.dumps(json_safe(items), indent=2, ensure_ascii=False))
        return 0
    if not items:
        print("no entities found")
        return 0
    for line in table_lines(items):
        print(line)
    return 0
