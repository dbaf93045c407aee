"""`assistant ask TEXT` / `assistant ask -`: understand and act, as if it had been spoken."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from assistant.config import Settings
from assistant.textsafe import TEXT_LIMIT, cap, clean, json_safe
from assistant.understanding.engine import Outcome


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `ask`."""
    parser = sub.add_parser(
        "ask",
        help="run a sentence through understanding and the devices",
        description="Understand TEXT and act on it for real. With '-', read one utterance "
        "per line from stdin and print one JSON object per line.",
        parents=[common],
    )
    parser.add_argument("text", metavar="TEXT", help="the sentence, or '-' for stdin")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--no-llm", action="store_true", help="templates only, whatever [understanding] llm says"
    )
    parser.set_defaults(func=_ask)


def _print(outcome: Outcome, as_json: bool) -> None:
    # Replies carry device names from the network: escaped and capped.
    if as_json:
        print(json.dumps(json_safe(outcome.to_json()), ensure_ascii=False), flush=True)
    else:
        print(clean(outcome.reply) if outcome.reply else "(no reply)", flush=True)


async def check_broker(settings: Settings) -> None:
    """UserError (one line) when the broker is away or refuses us (wrong password,
    not authorised), before any model is loaded: an unreachable home must not be
    answered as if it were empty."""
    if settings.homeassistant.enabled or not settings.mqtt.enabled:
        return
    from assistant.transports.mqtt import MqttConnection

    async with MqttConnection(settings.mqtt, name="assistant-ask", reconnect=False) as probe:
        await probe.connect_or_raise(timeout=settings.discovery.max_wait_seconds)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.understanding.session import open_session

    await check_broker(settings)
    async with open_session(settings, use_llm=not args.no_llm) as session:
        understanding = session.understanding
        if args.text != "-":
            outcome = await understanding.process(cap(args.text, TEXT_LIMIT))
            _print(outcome, args.json)
            return 0
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                return 0
            if not line.strip():
                continue
            outcome = await understanding.process(cap(line.strip(), TEXT_LIMIT))
            _print(outcome, True)


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))
