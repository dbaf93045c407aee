"""File hashing helpers shared by download, install and verify."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def record_hash_matches(path: Path, record_hash: str) -> bool:
    """Check a file against a wheel RECORD hash ("sha256=<urlsafe b64, no padding>")."""
    algorithm, _, expected = record_hash.partition("=")
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    actual = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")
    return actual == expected
