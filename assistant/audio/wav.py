"""WAV files in any common rate, width and channel count -> 16 kHz mono int16.

The RIFF chunks are walked here rather than with the ``wave`` module because
Python 3.11's ``wave`` rejects WAVE_FORMAT_EXTENSIBLE (what sox and many
recorders write for 24-bit or multichannel audio) and float samples, and it
silently accepts a file cut short.  Reading is streamed in blocks so a long
recording is never held whole in memory; resampling uses soxr's streaming
resampler.
"""

from __future__ import annotations

import struct
import wave
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from assistant.audio import SAMPLE_RATE, Samples
from assistant.audio.frames import Resampler
from assistant.errors import UserError

__all__ = ["Samples", "WavInfo", "iter_wav", "read_wav", "wav_info", "write_wav"]

_BLOCK_FRAMES = 16000
_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
# Streaming writers (arecord, ffmpeg to a pipe) leave a placeholder length.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF, 0x7FFFFFFF)


@dataclass(frozen=True)
class WavInfo:
    """What the header of a WAV file says."""

    rate: int
    channels: int
    width: int
    is_float: bool
    data_offset: int
    data_bytes: int | None

    @property
    def seconds(self) -> float | None:
        """Duration, or None when the writer did not record a length."""
        if self.data_bytes is None:
            return None
        return self.data_bytes / (self.width * self.channels * self.rate)


def _error(path: Path, what: str) -> UserError:
    return UserError(f"{path}: {what}")


def _read_exact(handle: BinaryIO, size: int) -> bytes:
    data = handle.read(size)
    return data if len(data) == size else b""


def _parse_fmt(path: Path, body: bytes) -> tuple[int, int, int, bool]:
    if len(body) < 16:
        raise _error(path, "not a readable WAV file (short fmt chunk)")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]
    if tag not in (_PCM, _FLOAT):
        raise _error(path, f"unsupported WAV encoding (format tag {tag:#x}); use PCM")
    width = bits // 8
    is_float = tag == _FLOAT
    if (is_float and width not in (4, 8)) or (not is_float and width not in (1, 2, 3, 4)):
        raise _error(path, f"unsupported WAV sample size ({bits} bits)")
    if channels < 1 or not 1000 <= rate <= 768000:
        raise _error(path, f"implausible WAV header ({channels} channels, {rate} Hz)")
    return rate, channels, width, is_float


def wav_info(path: Path) -> WavInfo:
    """Parse and check a WAV header; UserError with one line for anything wrong."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise _error(path, "no such file") from None
    except IsADirectoryError:
        raise _error(path, "is a directory, not a WAV file") from None
    except OSError as exc:
        raise _error(path, f"cannot open ({exc.strerror})") from None
    with handle:
        size = path.stat().st_size
        if size == 0:
            raise _error(path, "empty file, not a WAV file")
        head = _read_exact(handle, 12)
        if not head or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise _error(path, "not a WAV file (no RIFF/WAVE header)")
        fmt: tuple[int, int, int, bool] | None = None
        while True:
            chunk = _read_exact(handle, 8)
            if not chunk:
                missing = "fmt" if fmt is None else "data"
                raise _error(path, f"truncated or damaged WAV file (no {missing} chunk)")
            kind, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if kind == b"fmt ":
                fmt = _parse_fmt(path, handle.read(min(length, 4096)))
                handle.seek(handle.tell() + length - min(length, 4096) + (length & 1))
            elif kind == b"data":
                if fmt is None:
                    raise _error(path, "damaged WAV file (data before fmt chunk)")
                offset = handle.tell()
                known = length not in _UNKNOWN_SIZES
                if known and offset + length > size:
                    rate, channels, width, _ = fmt
                    want = length / (rate * channels * width)
                    have = (size - offset) / (rate * channels * width)
                    raise _error(
                        path,
                        f"truncated WAV file (header says {want:.2f} s, file holds {have:.2f} s)",
                    )
                data_bytes = length if known else size - offset
                rate, channels, width, is_float = fmt
                if data_bytes < width * channels:
                    raise _error(path, "empty WAV file (no audio)")
                return WavInfo(rate, channels, width, is_float, offset, data_bytes)
            else:
                handle.seek(handle.tell() + length + (length & 1))
            if handle.tell() > size:
                raise _error(path, "truncated or damaged WAV file (chunk runs past the end)")


def _to_float(raw: bytes, info: WavInfo) -> npt.NDArray[np.float32]:
    width, channels = info.width, info.channels
    raw = raw[: len(raw) - len(raw) % (width * channels)]
    data: npt.NDArray[np.float32]
    if info.is_float:
        data = np.frombuffer(raw, dtype="<f4" if width == 4 else "<f8").astype(np.float32)
    elif width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        as_int = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        as_int = np.where(as_int & 0x800000, as_int - 0x1000000, as_int)
        data = as_int.astype(np.float32) / 8388608.0
    else:
        data = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2147483648.0).astype(
            np.float32
        )
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return data


def _to_int16(data: npt.NDArray[np.float32]) -> Samples:
    return np.clip(np.round(data * 32768.0), -32768, 32767).astype(np.int16)


def iter_wav(path: Path, block_frames: int = _BLOCK_FRAMES) -> Generator[Samples, None, None]:
    """Yield 16 kHz mono int16 blocks of a WAV file; UserError for a bad file.

    The header is checked before the first block is yielded, so a bad file
    fails before any work is done on it.
    """
    info = wav_info(path)
    resampler = Resampler(info.rate)
    bytes_per_block = block_frames * info.width * info.channels
    remaining = info.data_bytes if info.data_bytes is not None else 1 << 62
    with path.open("rb") as handle:
        handle.seek(info.data_offset)
        while remaining > 0:
            raw = handle.read(min(bytes_per_block, remaining))
            remaining -= len(raw)
            last = len(raw) < bytes_per_block or remaining <= 0
            data = _to_int16(_to_float(raw, info))
            block = resampler.process(data, last=last)
            if block.size:
                yield block
            if last:
                break


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
