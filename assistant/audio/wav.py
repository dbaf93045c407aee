"""WAV files in any common rate and channel count -> 16 kHz mono int16.

Reading is streamed in blocks so that a long recording is never held whole
in memory; resampling uses soxr's streaming resampler.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

from assistant.audio import SAMPLE_RATE
from assistant.errors import UserError

Samples = npt.NDArray[np.int16]

_BLOCK_FRAMES = 16000


def _open(path: Path) -> wave.Wave_read:
    try:
        handle = wave.open(str(path), "rb")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a WAV file") from None
    except (wave.Error, EOFError) as exc:
        raise UserError(f"{path}: not a readable WAV file ({exc or 'empty'})") from None
    if handle.getsampwidth() not in (1, 2, 3, 4):
        handle.close()
        raise UserError(f"{path}: unsupported sample width {handle.getsampwidth()} bytes")
    if handle.getnchannels() < 1 or handle.getframerate() < 1000:
        handle.close()
        raise UserError(f"{path}: implausible WAV header")
    return handle


def _to_float(raw: bytes, width: int, channels: int) -> npt.NDArray[np.float32]:
    usable = len(raw) - len(raw) % (width * channels)
    raw = raw[:usable]
    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        bytes3 = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        as_int = (
            bytes3[:, 0].astype(np.int32)
            | (bytes3[:, 1].astype(np.int32) << 8)
            | (bytes3[:, 2].astype(np.int32) << 16)
        )
        as_int = np.where(as_int & 0x800000, as_int - 0x1000000, as_int)
        data = as_int.astype(np.float32) / 8388608.0
    else:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return data.astype(np.float32)


def _to_int16(data: npt.NDArray[np.float32]) -> Samples:
    return np.clip(np.round(data * 32767.0), -32768, 32767).astype(np.int16)


def iter_wav(path: Path, block_frames: int = _BLOCK_FRAMES) -> Iterator[Samples]:
    """Yield 16 kHz mono int16 blocks of a WAV file; UserError for a bad file."""
    handle = _open(path)
    with handle:
        rate, width, channels = handle.getframerate(), handle.getsampwidth(), handle.getnchannels()
        if handle.getnframes() == 0:
            raise UserError(f"{path}: empty WAV file (no audio)")
        resampler = None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1)
        got_any = False
        while True:
            try:
                raw = handle.readframes(block_frames)
            except (wave.Error, EOFError) as exc:
                raise UserError(f"{path}: truncated WAV file ({exc})") from None
            last = len(raw) < block_frames * width * channels
            data = _to_float(raw, width, channels)
            if resampler is not None:
                data = resampler.resample_chunk(data, last=last)
            if data.size:
                got_any = True
                yield _to_int16(data)
            if last:
                break
        if not got_any:
            raise UserError(f"{path}: truncated WAV file (no complete samples)")


def read_wav(path: Path) -> Samples:
    """A whole WAV file as 16 kHz mono int16 (use iter_wav for long files)."""
    blocks = list(iter_wav(path))
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int16)


def write_wav(path: Path, samples: Samples, rate: int = SAMPLE_RATE) -> None:
    """Write mono int16 samples as a WAV file, atomically."""
    tmp = path.with_name(f".{path.name}.part")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    tmp.replace(path)
