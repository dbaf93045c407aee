"""`assistant intents list | test SENTENCE | check [FILE...]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from assistant.config import Settings


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `intents` and its subcommands."""
    parser = sub.add_parser("intents", help="list, try and check intents", parents=[common])
    inner = parser.add_subparsers(dest="intents_command", metavar="ACTION", required=True)
    listing = inner.add_parser("list", help="every intent with a handler", parents=[common])
    listing.add_argument("--json", action="store_true", help="one JSON object per intent")
    listing.add_argument("--dir", type=Path, action="append", default=[], help="extra intents dir")
    listing.set_defaults(func=_list)
    test = inner.add_parser(
        "test",
        help="show what a sentence would do, without doing it",
        parents=[common],
    )
    test.add_argument("sentence", metavar="SENTENCE")
    test.add_argument("--json", action="store_true", help="print the result as JSON")
    test.add_argument("--dir", type=Path, action="append", default=[], help="extra intents dir")
    test.add_argument("--no-llm", action="store_true", help="templates only")
    test.set_defaults(func=_test)
    check = inner.add_parser("check", help="validate every intents YAML", parents=[common])
    check.add_argument("files", nargs="*", type=Path, metavar="FILE", help="more YAML files")
    check.add_argument("--dir", type=Path, action="append", default=[], help="extra intents dir")
    check.set_defaults(func=_check)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.understanding.handlers import HANDLERS
    from assistant.understanding.loader import discover
    from assistant.understanding.sentences import load_templates

    sources = discover(settings.understanding.intents_dir, args.dir)
    templates = load_templates(
        settings.understanding.language, sources.yaml_files, keep_intents=HANDLERS.names()
    )
    for spec in HANDLERS.specs():
        intent = templates.intents.intents.get(spec.schema.name)
        sentences = sum(len(d.sentence_texts) for d in intent.data) if intent else 0
        row = {
            "intent": spec.schema.name,
            "handler": f"{spec.module}.{spec.func.__name__}",
            "sentences": sentences,
            "sensitive": spec.schema.sensitive,
            "slots": [s.name for s in spec.schema.slots],
            "description": spec.schema.description,
        }
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            flag = " (asks first)" if spec.schema.sensitive else ""
            slots = ", ".join(s.name for s in spec.schema.slots) or "-"
            print(f"{row['intent']:28} {sentences:4d} sentences  slots: {slots}{flag}")
            print(f"{'':28} {row['handler']}")
    return 0


async def _test_async(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.understanding.session import open_session

    async with open_session(
        settings, dry_run=True, use_llm=not args.no_llm, extra_dirs=args.dir
    ) as session:
        outcome = await session.understanding.process(args.sentence)
    data = outcome.to_json()
    data["dry_run"] = True
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
        return 0 if outcome.intent else 1
    if outcome.intent is None:
        print(f"no match: {outcome.reply}")
        return 1
    print(f"intent:  {outcome.intent}  ({outcome.handled_by})")
    for call in outcome.calls:
        slots = ", ".join(f"{k}={v!r}" for k, v in call.slots.items()) or "-"
        print(f"slots:   {call.intent}: {slots}")
    for action in outcome.actions:
        params = ", ".join(f"{k}={v!r}" for k, v in action.params.items())
        print(f"would:   {action.action} {action.entity_id}" + (f" ({params})" if params else ""))
    if not outcome.actions:
        print("would:   nothing on a device")
    print(f"reply:   {outcome.reply}")
    return 0


def _test(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_test_async(args, settings))


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.errors import UserError
    from assistant.understanding.check import check_file
    from assistant.understanding.handlers import HANDLERS
    from assistant.understanding.loader import discover
    from assistant.understanding.sentences import load_templates

    language = settings.understanding.language
    sources = discover(settings.understanding.intents_dir, args.dir)
    files = list(dict.fromkeys([*sources.yaml_files, *(p.resolve() for p in args.files)]))
    problems = []
    for path in files:
        problems += check_file(path, HANDLERS.names(), language)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        try:
            load_templates(language, files, keep_intents=HANDLERS.names())
        except UserError as exc:
            print(f"assistant: {exc}", file=sys.stderr)
            return 1
    print(f"{len(files)} file(s), {len(problems)} problem(s)")
    return 1 if problems else 0
