"""Where models live, which are present, and whether they are intact."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from assistant.config import Settings
from assistant.errors import UserError
from assistant.models.catalog import Catalog, ModelEntry, load_catalog
from assistant.models.embedded import embedded_available, find_embedded
from assistant.models.hashing import record_hash_matches, sha256_file

MANIFEST = ".manifest.json"


def models_dir(settings: Settings, environ: Mapping[str, str] | None = None) -> Path:
    """[models] directory, else $STATE_DIRECTORY/models (systemd), else the XDG data dir."""
    env = os.environ if environ is None else environ
    if settings.models.directory is not None:
        return settings.models.directory.expanduser()
    state = env.get("STATE_DIRECTORY")
    if state:
        # systemd may pass several directories separated by colons; ours is the first.
        return Path(state.split(":")[0]) / "models"
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "assistant" / "models"


@dataclass(frozen=True)
class ModelStatus:
    """Presence of one model: where it was found, or why not."""

    entry: ModelEntry
    path: Path | None
    source: str  # "installed", "embedded" or "missing"


@dataclass(frozen=True)
class Verification:
    """The outcome of checking one model's files."""

    name: str
    ok: bool
    detail: str


class ModelStore:
    """The catalog plus the models directory: locate, status and verify models."""

    def __init__(self, catalog: Catalog, directory: Path) -> None:
        self.catalog = catalog
        self.directory = directory

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        catalog_path: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ModelStore:
        """The store the configuration describes (catalog override for tests and labs)."""
        path = catalog_path or settings.models.catalog
        return cls(load_catalog(path), models_dir(settings, environ))

    def installed_dir(self, name: str) -> Path:
        """Where a downloaded model is (or would be) installed."""
        return self.directory / name

    def is_installed(self, name: str) -> bool:
        """True when a complete download of the model is in the models directory."""
        return (self.installed_dir(name) / MANIFEST).is_file()

    def _entry_point(self, entry: ModelEntry, directory: Path) -> Path:
        return directory / entry.main if entry.main else directory

    def status(self, name: str, build: bool = False) -> ModelStatus:
        """Where the model is; `build` allows assembling an embedded model now."""
        entry = self.catalog.get(name)
        if self.is_installed(name):
            return ModelStatus(
                entry, self._entry_point(entry, self.installed_dir(name)), "installed"
            )
        if build:
            path = find_embedded(entry, self.directory)
            if path is not None:
                return ModelStatus(entry, path, "embedded")
        elif embedded_available(entry):
            return ModelStatus(entry, None, "embedded")
        return ModelStatus(entry, None, "missing")

    def locate(self, name: str) -> Path:
        """The model's directory or main file; UserError naming how to get it."""
        found = self.status(name, build=True)
        if found.path is not None:
            return found.path
        entry = found.entry
        if entry.downloadable:
            raise UserError(
                f"model '{name}' is not installed in {self.directory}: "
                f"run `assistant models download {name}`"
            )
        packages = " ".join(entry.packages) or "the assistant"
        raise UserError(f"model '{name}' is missing: reinstall {packages} with pip")

    def verify(self, name: str) -> Verification:
        """Check a present model's files against the catalog, its manifest or pip's RECORD."""
        entry = self.catalog.get(name)
        if self.is_installed(name):
            return _verify_manifest(entry, self.installed_dir(name))
        found = self.status(name, build=True)
        if found.path is None:
            return Verification(name, False, "not installed")
        if entry.verify == "package":
            return _verify_packages(entry)
        base = found.path if found.path.is_dir() else found.path.parent
        return _verify_known_hashes(entry, base)


def _verify_manifest(entry: ModelEntry, directory: Path) -> Verification:
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        recorded: dict[str, str] = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return Verification(entry.name, False, f"unreadable {MANIFEST} in {directory}")
    for rel, digest in sorted(recorded.items()):
        path = directory / rel
        if not path.is_file():
            return Verification(entry.name, False, f"{rel} is missing")
        if sha256_file(path) != digest:
            return Verification(entry.name, False, f"{rel} changed since it was installed")
    known = _verify_known_hashes(entry, directory)
    if not known.ok:
        return known
    return Verification(entry.name, True, f"{len(recorded)} files match ({known.detail})")


def _verify_known_hashes(entry: ModelEntry, directory: Path) -> Verification:
    checked = 0
    for item in entry.files:
        if item.path is None or item.sha256 is None:
            continue
        path = directory / item.path
        if not path.is_file():
            return Verification(entry.name, False, f"{item.path} is missing")
        if sha256_file(path) != item.sha256:
            return Verification(entry.name, False, f"{item.path}: sha256 mismatch")
        checked += 1
    if checked:
        return Verification(entry.name, True, f"sha256 of {checked} upstream file(s) match")
    return Verification(entry.name, True, "no upstream sha256 published; recorded hashes only")


def _verify_packages(entry: ModelEntry) -> Verification:
    checked = 0
    for package in entry.packages:
        try:
            files = metadata.files(package) or []
        except metadata.PackageNotFoundError:
            return Verification(entry.name, False, f"package {package} is not installed")
        for file in files:
            if file.hash is None:
                continue
            path = Path(str(file.locate()))
            if not path.is_file():
                return Verification(entry.name, False, f"{package}: {file} is missing")
            if not record_hash_matches(path, f"{file.hash.mode}={file.hash.value}"):
                return Verification(entry.name, False, f"{package}: {file} fails pip's hash")
            checked += 1
    return Verification(entry.name, True, f"{checked} files match pip's RECORD")
