"""Audio devices through sounddevice (PortAudio), with errors a user can read.

Everything PortAudio can throw (no library, no device, a device that vanished)
becomes a ``UserError`` with one line that says what to do instead, so a
gateway with no sound card never shows a PortAudio traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from assistant.errors import UserError

Kind = Literal["input", "output"]

_NO_DEVICE_HINT = {
    "input": "no audio input device found; use a WAV file (assistant transcribe/listen) "
    "or plug in a microphone",
    "output": "no audio output device found; write the audio to a WAV file (--out FILE) "
    "or plug in a speaker",
}


@dataclass(frozen=True)
class AudioDevice:
    """One PortAudio device as the user sees it."""

    index: int
    name: str
    inputs: int
    outputs: int
    default_samplerate: float
    is_default_input: bool
    is_default_output: bool


def sounddevice_module() -> ModuleType:
    """Import sounddevice, turning a missing PortAudio library into a UserError."""
    try:
        import sounddevice as sd
    except OSError as exc:
        raise UserError(
            f"audio is unavailable: the PortAudio library cannot be loaded ({exc}); "
            "install libportaudio2 or use WAV files"
        ) from None
    module: ModuleType = sd
    return module


def _default_indices(sd: ModuleType) -> tuple[int, int]:
    try:
        default = sd.default.device
        return int(default[0]), int(default[1])
    except (TypeError, ValueError, IndexError, sd.PortAudioError):
        return -1, -1


def list_devices() -> list[AudioDevice]:
    """Every audio device PortAudio knows (an empty list when there is none)."""
    sd = sounddevice_module()
    try:
        raw: Any = sd.query_devices()
    except sd.PortAudioError as exc:
        raise UserError(f"cannot list audio devices: {exc}") from None
    default_in, default_out = _default_indices(sd)
    devices: list[AudioDevice] = []
    for index, info in enumerate(raw):
        devices.append(
            AudioDevice(
                index=index,
                name=str(info["name"]),
                inputs=int(info["max_input_channels"]),
                outputs=int(info["max_output_channels"]),
                default_samplerate=float(info["default_samplerate"]),
                is_default_input=index == default_in,
                is_default_output=index == default_out,
            )
        )
    return devices


def _channels(device: AudioDevice, kind: Kind) -> int:
    return device.inputs if kind == "input" else device.outputs


def choose_device(devices: list[AudioDevice], spec: str | int | None, kind: Kind) -> int | None:
    """Pure choice of a device index from a list: by index, name substring, or default.

    Returns None for "PortAudio's default" when a usable default exists.
    Raises UserError when nothing of the kind exists or the spec matches nothing.
    """
    usable = [d for d in devices if _channels(d, kind) > 0]
    if not usable:
        raise UserError(_NO_DEVICE_HINT[kind])
    if spec is None or (isinstance(spec, str) and spec.strip() == ""):
        return None
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        for device in usable:
            if device.index == index:
                return index
        raise UserError(
            f"audio {kind} device {index} does not exist or has no {kind} channels; "
            "see `assistant audio devices`"
        )
    wanted = spec.strip().lower()
    matches = [d for d in usable if wanted in d.name.lower()]
    if not matches:
        raise UserError(f"no audio {kind} device matches {spec!r}; see `assistant audio devices`")
    if len(matches) > 1:
        exact = [d for d in matches if d.name.lower() == wanted]
        if len(exact) == 1:
            return exact[0].index
        names = ", ".join(f"{d.index}: {d.name}" for d in matches)
        raise UserError(f"audio {kind} device {spec!r} is ambiguous ({names}); use its index")
    return matches[0].index


def resolve_device(spec: str | int | None, kind: Kind) -> int | None:
    """The PortAudio index for a config value (name substring, index, or None = default).

    Raises UserError with one clear line when there is no such device (or none at all).
    """
    return choose_device(list_devices(), spec, kind)
