"""`assistant serve-wyoming`: the Wyoming server alone, for Home Assistant.

Loads the STT engine, the voice, the devices and understanding once, then
serves Wyoming clients (speech-to-text, text-to-speech, conversation) until
SIGTERM/SIGINT.  `run` starts the same server next to the microphone when
`[wyoming] enabled = true`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from assistant.config import Settings
from assistant.pipeline.runtime import Runtime, RuntimeOptions
from assistant.service.signals import stop_event


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `serve-wyoming`."""
    parser = sub.add_parser(
        "serve-wyoming",
        help="serve speech-to-text, text-to-speech and conversation to Home Assistant (Wyoming)",
        parents=[common],
    )
    parser.add_argument("--host", help="address to listen on (override [wyoming] host)")
    parser.add_argument("--port", type=int, help="TCP port (override [wyoming] port; 0: any)")
    parser.set_defaults(func=run)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def serve(settings: Settings) -> int:
    """Serve until SIGTERM/SIGINT."""
    from assistant.integrations.wyoming.engines import serving

    options = RuntimeOptions(wake=False, speak=settings.tts.enabled, interface=False)
    with stop_event(asyncio.get_running_loop()) as stop:
        async with (
            Runtime(settings, options, status=_say) as runtime,
            serving(runtime, _say, own_stt=False),
        ):
            await stop.wait()
    _say("stopped")
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Entry point of `assistant serve-wyoming`."""
    overrides = {
        key: value for key, value in (("host", args.host), ("port", args.port)) if value is not None
    }
    if overrides:
        wyoming = settings.wyoming.model_validate({**settings.wyoming.model_dump(), **overrides})
        settings = settings.model_copy(update={"wyoming": wyoming})
    return asyncio.run(serve(settings))
