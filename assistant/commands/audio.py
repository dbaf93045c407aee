"""`assistant audio devices`: the microphones and speakers PortAudio sees."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from assistant.audio.devices import list_devices
from assistant.config import Settings
from assistant.errors import UserError


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `audio` and its subcommands."""
    parser = sub.add_parser("audio", help="audio devices", parents=[common])
    inner = parser.add_subparsers(dest="audio_command", metavar="ACTION", required=True)
    devices = inner.add_parser("devices", help="list microphones and speakers", parents=[common])
    devices.add_argument("--json", action="store_true", help="one JSON array of devices")
    devices.set_defaults(func=_devices)


def _devices(args: argparse.Namespace, settings: Settings) -> int:
    found = list_devices()
    if args.json:
        # An empty list is a valid answer for a program; the exit code stays 0.
        print(json.dumps([asdict(d) for d in found], indent=2))
        return 0
    if not found:
        raise UserError(
            "no audio devices found; use WAV files (assistant transcribe FILE, "
            "assistant say TEXT --out FILE) or connect a microphone and speaker"
        )
    print(f"{'idx':>3}  {'in':>2} {'out':>3}  {'rate':>6}  default  name")
    for d in found:
        default = ",".join(
            name for name, yes in (("in", d.is_default_input), ("out", d.is_default_output)) if yes
        )
        print(
            f"{d.index:>3}  {d.inputs:>2} {d.outputs:>3}  {d.default_samplerate:>6.0f}  "
            f"{default or '-':7}  {d.name}"
        )
    return 0
