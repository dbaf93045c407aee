"""`assistant run`: the long-running assistant on the microphone.

One line per stage as it becomes ready; READY=1 and the watchdog for
systemd; a clean stop on SIGTERM/SIGINT.  A missing microphone or model is
one line (exit 2; without a microphone a gateway that has `[[satellites]]`
serves them), a broker that is down is waited for and reported.
`--input FILE` takes a WAV file (played in real time) instead of the
microphone: for trying the service without one, and for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncGenerator
from typing import Any

import numpy as np

from assistant.audio import Samples
from assistant.audio.sinks import AudioSink
from assistant.audio.sources import AudioSource, open_source
from assistant.config import Settings
from assistant.errors import UserError
from assistant.integrations import satellite as satellites
from assistant.pipeline.live import LivePipeline
from assistant.pipeline.messages import TurnResult
from assistant.pipeline.runtime import Runtime, RuntimeOptions
from assistant.service.notify import Notifier, watchdog_loop
from assistant.service.signals import stop_event
from assistant.textsafe import TEXT_LIMIT, clean

log = logging.getLogger(__name__)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `run`."""
    parser = sub.add_parser(
        "run", help="listen on the microphone and act (the service)", parents=[common]
    )
    parser.add_argument(
        "--input",
        metavar="WAV",
        help="a WAV file played in real time instead of the microphone",
    )
    parser.add_argument("--out", metavar="WAV", help="write what would be spoken to a WAV file")
    parser.add_argument("--no-wake", action="store_true", help="no wake word")
    parser.set_defaults(func=run)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _NoMicrophone:
    """No microphone on a gateway that serves satellites: it still serves them (and MQTT)."""

    name = "none"
    frame_samples = 480

    async def frames(self) -> AsyncGenerator[Samples, None]:
        await asyncio.Event().wait()  # until the service stops
        yield np.zeros(0, dtype=np.int16)  # never reached: this makes it a generator


def _open_source(settings: Settings, spec: str | None) -> AudioSource:
    try:
        source: AudioSource = open_source(spec, settings.audio, realtime=True)
    except UserError as exc:
        if spec is not None or not satellites.wanted(settings):
            raise
        _say(f"{'audio in':<14} none   ({exc}); serving the satellites")
        return _NoMicrophone()
    _say(f"{'audio in':<14} ready  {source.name}")
    return source


def _open_sink(settings: Settings, output: str | None) -> AudioSink | None:
    from pathlib import Path

    from assistant.audio.sinks import open_sink

    try:
        return open_sink(Path(output) if output else None, settings.audio)
    except UserError as exc:
        # No speaker is not fatal: the assistant still acts and publishes its replies.
        _say(f"{'speaker':<14} none   ({exc}); replies are published, not spoken")
        return None


def _print_turn(result: TurnResult, where: str = "") -> None:
    u = result.outcome
    acts = ", ".join(f"{a.entity_id} {a.action}" for a in u.actions) if u else ""
    # Transcripts, names and replies can come from the network (MQTT ask).
    _say(
        clean(
            f"{where}heard {result.transcript!r} -> {u.intent if u else None} "
            f"[{u.handled_by if u else '-'}] {acts} : {result.reply!r}",
            TEXT_LIMIT * 2,
        )
    )


def _print_satellite_turn(name: str, result: TurnResult) -> None:
    _print_turn(result, where=f"[{name}] ")


def _satellites(settings: Settings, runtime: Runtime) -> satellites.SatelliteHub:
    """The Wyoming satellites of `[[satellites]]` (and zeroconf), served by this runtime."""
    names = ", ".join(s.label for s in settings.satellites) or "none listed"
    found = "; zeroconf discovery on" if settings.satellite_discovery.enabled else ""
    _say(f"{'satellites':<14} ready  {names}{found}")
    return satellites.SatelliteHub(
        satellites.runtime_services(runtime, on_turn=_print_satellite_turn),
        settings.satellites,
        discover=settings.satellite_discovery.enabled,
    )


async def _start_integrations(
    stack: contextlib.AsyncExitStack, settings: Settings, runtime: Runtime
) -> None:
    """The Wyoming server and the satellites, when configured, on this runtime's engines."""
    if settings.wyoming.enabled:
        from assistant.integrations.wyoming.engines import serving

        await stack.enter_async_context(serving(runtime, _say, own_stt=True))
    if satellites.wanted(settings):
        await stack.enter_async_context(_satellites(settings, runtime))


async def serve(settings: Settings, args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT (or the end of --input)."""
    notifier = Notifier()
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    with stop_event(loop) as stop:
        source = _open_source(settings, args.input)
        sink = _open_sink(settings, args.out)
        # Satellites need the voice even when the gateway has no speaker.
        speak = sink is not None or satellites.wanted(settings)
        options = RuntimeOptions(wake=not args.no_wake, speak=speak)
        async with contextlib.AsyncExitStack() as stack:
            close = getattr(sink, "close", None)
            if close is not None:
                stack.callback(close)  # a WAV sink is finished and moved into place
            notifier.status("loading models")
            entering = asyncio.create_task(
                stack.enter_async_context(Runtime(settings, options, status=_say)),
                name="start-up",
            )
            stopping = asyncio.create_task(stop.wait(), name="stop-wait")
            await asyncio.wait({entering, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not entering.done():
                entering.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await entering
                _say("stopped before start-up finished")
                return 0
            runtime = entering.result()
            await _start_integrations(stack, settings, runtime)
            assert runtime.listener is not None
            assert runtime.turns is not None
            pipeline = LivePipeline(
                source,
                runtime.listener,
                runtime.turns,
                sink=sink,
                interface=runtime.interface,
                requests=runtime.requests,
                on_turn=_print_turn,
                arbiter=runtime.arbiter,
            )
            watchdog = asyncio.create_task(watchdog_loop(notifier), name="watchdog")
            wake = settings.wake.model if runtime.listener.wake is not None else "no wake word"
            _say(f"listening ({wake}); ready in {time.monotonic() - started:.1f} s")
            notifier.ready(f"listening for {wake}")
            try:
                await pipeline.run(stop)
            except UserError:
                raise
            except Exception as exc:  # noqa: BLE001 - one line, and systemd restarts us
                log.error("the assistant stopped: %s: %s", type(exc).__name__, exc)
                return 1
            finally:
                notifier.stopping()
                watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watchdog
            if pipeline.dropped_frames:
                log.warning(
                    "%d audio frames dropped (the pipeline fell behind)", pipeline.dropped_frames
                )
    _say("stopped")
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Entry point of `assistant run`."""
    return asyncio.run(serve(settings, args))
