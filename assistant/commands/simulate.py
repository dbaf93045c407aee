"""`assistant simulate`: a simulated device fleet on the configured MQTT broker."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from assistant.config import Settings

log = logging.getLogger("assistant.simulate")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `simulate`."""
    parser = sub.add_parser(
        "simulate",
        help="publish a simulated home over MQTT (Home Assistant discovery)",
        parents=[common],
        description="Announce every entity of a home YAML with retained Home Assistant "
        "discovery configs on the [mqtt] broker, act on commands like real devices and "
        "publish their new states.  Ctrl-C leaves the configs retained unless --clear.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--home", type=Path, help="home YAML (default: the example home shipped with assistant)"
    )
    source.add_argument(
        "--ha-fixtures",
        type=Path,
        metavar="FILE",
        help="simulate the home of a home-assistant/intents _fixtures.yaml instead",
    )
    parser.add_argument("--clear", action="store_true", help="remove the discovery configs on exit")
    parser.add_argument(
        "--print-aliases",
        action="store_true",
        help="print the home's aliases as config [entities] tables and exit "
        "(discovery cannot carry aliases)",
    )
    parser.set_defaults(func=_simulate)


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.simulate import Fleet, home_from_ha_fixtures, load_example_home, load_home

    if args.ha_fixtures is not None:
        home = home_from_ha_fixtures(args.ha_fixtures)
    elif args.home is not None:
        home = load_home(args.home)
    else:
        home = load_example_home()
    if args.print_aliases:
        for entity_id, table in home.overrides().items():
            names = ", ".join(json.dumps(a) for a in table["aliases"])
            print(f'[entities."{entity_id}"]\naliases = [{names}]\n')
        return 0
    fleet = Fleet(home, settings.mqtt, settings.discovery.prefix, clear_on_exit=args.clear)
    try:
        asyncio.run(fleet.run())
    except KeyboardInterrupt:
        log.info("stopped")
    return 0
