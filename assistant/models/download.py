"""`assistant models download`: fetch, check, unpack and install a model atomically.

Downloads go to ``<models>/.downloads/<name>/<file>.part``; an interrupted
download is resumed with an HTTP Range request the next time.  A finished file
must match the catalog's size and sha256 (when known); a mismatch removes the
partial file and stops with one line.  The model is assembled in a temporary
directory next to its final place and renamed into place, so a model
directory either is complete (it has a manifest) or does not exist.
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TextIO

from assistant.errors import UserError
from assistant.models.archive import extract
from assistant.models.catalog import ModelEntry, ModelFile
from assistant.models.hashing import sha256_file
from assistant.models.store import MANIFEST, ModelStore

_CHUNK = 1 << 16
_TIMEOUT_SECONDS = 30.0


class Progress:
    """A plain-text progress bar on stderr (redrawn on a terminal, lines otherwise)."""

    def __init__(self, label: str, total: int | None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.last_quarter = -1

    def update(self, done: int, final: bool = False) -> None:
        """Show `done` bytes; throttled so that drawing never slows the download."""
        now = time.monotonic()
        if not final and now - self.last_draw < 0.2:
            return
        self.last_draw = now
        rate = done / max(now - self.started, 1e-6) / 1e6
        if self.total:
            fraction = min(done / self.total, 1.0)
            bar = "#" * int(fraction * 30)
            text = (
                f"{self.label} [{bar:<30}] {fraction * 100:5.1f}% "
                f"{done / 1e6:.1f}/{self.total / 1e6:.1f} MB {rate:.1f} MB/s"
            )
            quarter = int(fraction * 4)
        else:
            text = f"{self.label} {done / 1e6:.1f} MB {rate:.1f} MB/s"
            quarter = self.last_quarter + 1 if final else self.last_quarter
        if self.tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
        elif final or quarter != self.last_quarter:
            self.stream.write(text + "\n")
        self.last_quarter = quarter
        self.stream.flush()


def _open(url: str, offset: int) -> http.client.HTTPResponse:
    request = urllib.request.Request(url, headers={"User-Agent": "assistant-models/1"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response: http.client.HTTPResponse = urllib.request.urlopen(
            request, timeout=_TIMEOUT_SECONDS
        )
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            raise _AlreadyComplete from None
        raise UserError(f"{url}: download failed (HTTP {exc.code} {exc.reason})") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"{url}: cannot connect ({reason})") from None
    return response


class _AlreadyComplete(Exception):
    """The server says the partial file already holds every byte."""


def fetch(item: ModelFile, part: Path, label: str, stream: TextIO | None = None) -> Path:
    """Download one file to `part`, resuming what is there; return the checked file."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        response = _open(item.url, offset)
    except _AlreadyComplete:
        response = None
    if response is not None:
        with response:
            if offset and response.status != 206:
                offset = 0  # the server ignored Range: start again
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length and length.isdigit() else item.size
            progress = Progress(label, total, stream)
            done = offset
            try:
                with part.open("ab" if offset else "wb") as out:
                    while block := response.read(_CHUNK):
                        out.write(block)
                        done += len(block)
                        progress.update(done)
            except (OSError, http.client.HTTPException) as exc:
                progress.update(done, final=True)
                raise UserError(
                    f"{item.url}: download interrupted after {done} bytes "
                    f"({exc.__class__.__name__}); run the same command again to resume"
                ) from None
            progress.update(done, final=True)
            if total is not None and done < total:
                raise UserError(
                    f"{item.url}: download interrupted after {done} of {total} bytes;"
                    " run the same command again to resume"
                )
    _check(item, part)
    return part


def _check(item: ModelFile, part: Path) -> None:
    size = part.stat().st_size
    if item.size is not None and size != item.size:
        if size > item.size:
            part.unlink()
        raise UserError(
            f"{item.download_name}: size {size} bytes, expected {item.size}"
            + ("; the file was removed" if size > item.size else "")
        )
    if item.sha256 is not None:
        actual = sha256_file(part)
        if actual != item.sha256:
            part.unlink()
            raise UserError(
                f"{item.download_name}: sha256 mismatch (got {actual[:12]}..., expected "
                f"{item.sha256[:12]}...); refusing it, the download was removed"
            )


def _manifest(entry: ModelEntry, directory: Path, downloads: dict[str, str]) -> None:
    files = {
        str(path.relative_to(directory)): sha256_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }
    data = {"name": entry.name, "downloads": downloads, "files": files}
    (directory / MANIFEST).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def download(
    store: ModelStore, name: str, force: bool = False, stream: TextIO | None = None
) -> tuple[Path, bool]:
    """Install `name` into the models directory; (path, False) if it already was."""
    entry = store.catalog.get(name)
    if not entry.downloadable:
        packages = " ".join(entry.packages) or "its engine"
        raise UserError(f"{name} has no download: it comes with pip ({packages})")
    target = store.installed_dir(name)
    if store.is_installed(name) and not force:
        return store.locate(name), False
    staging = store.directory / ".downloads" / name
    staging.mkdir(parents=True, exist_ok=True)
    fetched: list[tuple[ModelFile, Path]] = []
    for index, item in enumerate(entry.files, 1):
        label = f"{name} ({index}/{len(entry.files)})" if len(entry.files) > 1 else name
        part = staging / f"{item.download_name}.part"
        fetched.append((item, fetch(item, part, label, stream)))
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=store.directory))
    try:
        downloads: dict[str, str] = {}
        for item, path in fetched:
            downloads[item.url] = item.sha256 or sha256_file(path)
            if item.archive is not None:
                extract(path, tmp, item.archive, item.strip)
            else:
                dest = tmp / (item.path or item.download_name)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
        if entry.main and not (tmp / entry.main).is_file():
            raise UserError(f"{name}: the download does not contain {entry.main}")
        _manifest(entry, tmp, downloads)
        tmp.chmod(0o755)
        if target.exists():
            old = target.with_name(f".{name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
    return store.locate(name), True
