"""Safe unpacking of downloaded model archives (zip, tar.gz, tar.bz2).

An archive from the network is untrusted: members with absolute paths, ".."
components, links or device files are refused, so nothing is ever written
outside the destination directory.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from assistant.errors import UserError


def _safe_relative(name: str, strip: int, archive: Path) -> PurePosixPath | None:
    """The member's path below the destination, None for a stripped-away folder."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts:
        raise UserError(f"{archive.name}: refusing unsafe path in archive: {name}")
    parts = [p for p in pure.parts if p not in ("", ".")][strip:]
    return PurePosixPath(*parts) if parts else None


def _write(source: IO[bytes], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


def _extract_zip(archive: Path, dest: Path, strip: int) -> None:
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            rel = _safe_relative(info.filename, strip, archive)
            if rel is None:
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UserError(f"{archive.name}: refusing link in archive: {info.filename}")
            if info.is_dir():
                (dest / rel).mkdir(parents=True, exist_ok=True)
                continue
            with bundle.open(info) as member:
                _write(member, dest / rel)


def _extract_tar(archive: Path, dest: Path, strip: int, mode: str) -> None:
    with tarfile.open(archive, mode) as bundle:  # type: ignore[call-overload]
        for member in bundle:
            rel = _safe_relative(member.name, strip, archive)
            if rel is None:
                continue
            if member.isdir():
                (dest / rel).mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                raise UserError(
                    f"{archive.name}: refusing link or device in archive: {member.name}"
                )
            source = bundle.extractfile(member)
            if source is None:
                raise UserError(f"{archive.name}: unreadable member {member.name}")
            with source:
                _write(source, dest / rel)


def extract(archive: Path, dest: Path, kind: str, strip: int = 0) -> None:
    """Unpack `archive` of `kind` into `dest`, dropping `strip` leading folders."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "zip":
            _extract_zip(archive, dest, strip)
        elif kind == "tar.gz":
            _extract_tar(archive, dest, strip, "r:gz")
        elif kind == "tar.bz2":
            _extract_tar(archive, dest, strip, "r:bz2")
        else:
            raise UserError(f"{archive.name}: unsupported archive format '{kind}'")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise UserError(f"{archive.name}: cannot unpack ({exc})") from None
