"""`assistant listen FILE...`: the whole pipeline on recordings.

Each file is what the microphone would have heard: wake word (unless
--no-wake), end of speech, speech recognition, understanding, the devices,
and the reply (as WAV with --reply-dir).  With `-` the file paths come one
per line on stdin and each result is printed as soon as it is ready, so a
long-running caller can feed it; the models are loaded once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from assistant.audio.wav import wav_info
from assistant.config import Settings
from assistant.errors import UserError
from assistant.pipeline.files import FileListener, FileOutcome
from assistant.pipeline.runtime import Runtime, RuntimeOptions
from assistant.textsafe import TEXT_LIMIT, cap, clean, json_safe


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `listen`."""
    parser = sub.add_parser(
        "listen",
        help="run recordings through the whole assistant (wake word to device)",
        parents=[common],
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="WAV files; '-' reads one path per line on stdin"
    )
    parser.add_argument(
        "--no-wake", action="store_true", help="no wake word: each file is one command"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.add_argument(
        "--reply-dir",
        type=Path,
        metavar="DIR",
        help="write each spoken reply as DIR/<file>.reply.wav",
    )
    parser.set_defaults(func=run)


def _status(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _paths(args: list[str]) -> AsyncIterator[str]:
    for arg in args:
        if arg != "-":
            yield arg
            continue
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            if line.strip():
                yield line.strip()


def describe(outcome: FileOutcome) -> str:
    """One readable line per file."""
    result = outcome.result
    path = clean(outcome.path)
    if result is None:
        heard = "no wake word" if not outcome.woke else "nothing said"
        return f"{path}: ({heard})"
    text = f"{path}: heard {cap(repr(result.transcript), TEXT_LIMIT)}"
    u = result.outcome
    if result.error:
        return f"{text} -> error: {clean(result.error)}"
    if u is not None:
        acts = ", ".join(f"{a.entity_id} {a.action}" for a in u.actions) or "no action"
        text += (
            f" -> {u.intent or 'not understood'} [{u.handled_by or '-'}]: {clean(acts)}; "
            f"says {cap(repr(u.reply), TEXT_LIMIT)}"
        )
    return text


def check_files(paths: list[str]) -> dict[str, str]:
    """path -> why it cannot be used, for every named file that is not a readable WAV.

    Run before the models load (about 20 s): a typo is reported at once.
    Paths read from stdin ('-') are checked as they come.
    """
    problems = {}
    for path in paths:
        if path == "-":
            continue
        try:
            wav_info(Path(path))
        except UserError as exc:
            problems[path] = str(exc)
    return problems


def _report_bad(path: str, problem: str, as_json: bool, stream: Any) -> None:
    print(f"assistant: {clean(problem)}", file=sys.stderr, flush=True)
    if as_json:
        line = json.dumps(json_safe({"file": path, "error": problem}))
        print(line, file=stream, flush=True)


async def listen(settings: Settings, args: argparse.Namespace, out: Any = None) -> int:
    """Run every file; 1 when a file could not be read or a turn failed."""
    stream = out or sys.stdout
    bad = check_files(args.files)
    if bad and len(bad) == len(set(args.files)):
        # Nothing to listen to: one line each, exit 2, no model loaded.
        *first, (_, last) = bad.items()
        for _path, problem in first:
            print(f"assistant: {clean(problem)}", file=sys.stderr, flush=True)
        raise UserError(last)
    for path, problem in bad.items():
        _report_bad(path, problem, args.json, stream)
    options = RuntimeOptions(
        wake=not args.no_wake,
        speak=args.reply_dir is not None,
        interface=False,
        wait_for_broker=False,
    )
    failed = len(bad)
    async with Runtime(settings, options, status=_status) as runtime:
        assert runtime.listener is not None
        assert runtime.turns is not None
        files = FileListener(runtime.listener, runtime.turns)
        async for path in _paths([p for p in args.files if p not in bad]):
            try:
                outcome = await files.process(Path(path), args.reply_dir)
            except UserError as exc:
                _report_bad(path, str(exc), args.json, stream)
                failed += 1
                continue
            if outcome.result is not None and outcome.result.error:
                failed += 1
            if args.json:
                line = json.dumps(json_safe(outcome.to_json()), ensure_ascii=False)
                print(line, file=stream, flush=True)
            else:
                print(describe(outcome), file=stream, flush=True)
    return 1 if failed else 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Entry point of `assistant listen`."""
    return asyncio.run(listen(settings, args))
