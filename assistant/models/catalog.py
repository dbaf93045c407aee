"""The model catalog (models/catalog.toml) as validated, frozen records."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import UserError

# The catalog lives in the repository's top-level models/ folder, next to the
# package (the project is installed editable); a copy under assistant/data is
# the fallback for a wheel install.
_REPO_CATALOG = Path(__file__).resolve().parents[2] / "models" / "catalog.toml"
_PACKAGED_CATALOG = Path(__file__).resolve().parents[1] / "data" / "catalog.toml"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelFile(_Record):
    """One download of a model: a plain file or an archive to unpack."""

    url: str = Field(description="Where the file is downloaded from.")
    path: str | None = Field(
        default=None, description="Destination inside the model directory (plain files)."
    )
    archive: Literal["zip", "tar.gz", "tar.bz2"] | None = Field(
        default=None, description="Unpack into the model directory instead of storing."
    )
    strip: int = Field(default=0, ge=0, le=4, description="Leading folders dropped on unpack.")
    size: int | None = Field(default=None, gt=0, description="Exact size in bytes, if known.")
    sha256: str | None = Field(
        default=None, pattern="^[0-9a-f]{64}$", description="Upstream sha256, if known."
    )

    @property
    def download_name(self) -> str:
        """The name the download is stored under while in progress."""
        return self.path or self.url.rstrip("/").rsplit("/", 1)[-1]


class ModelEntry(_Record):
    """One supported model and its sources."""

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    role: Literal["stt", "llm", "wake", "vad"]
    engine: str
    language: str
    license: str
    homepage: str
    approx_size_mb: int | None = None
    description: str = ""
    packages: tuple[str, ...] = ()
    embedded: str | None = Field(
        default=None, description="Recipe that finds the model in its PyPI packages."
    )
    main: str | None = Field(
        default=None, description="File inside the model directory that locate() returns."
    )
    default: bool = False
    verify: Literal["sha256", "size", "package"] = "sha256"
    files: tuple[ModelFile, ...] = ()

    @property
    def downloadable(self) -> bool:
        """True when `assistant models download` can fetch it."""
        return bool(self.files)


SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data"
"""Where the package's own artifacts (the shipped adapters) live."""


class AdapterEntry(_Record):
    """A LoRA adapter trained by the project (`assistant train`) and shipped in the package."""

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    base: str = Field(description="The [[model]] it was trained for.")
    file: str = Field(description="Path inside assistant/data.")
    size: int = Field(gt=0)
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description="Checked at every load.")
    config: str = Field(description="The training config that made it (repository path).")
    data_sha256: str = Field(
        pattern="^[0-9a-f]{64}$", description="sha256 of the train.jsonl it was trained on."
    )
    description: str = ""
    default: bool = Field(default=False, description="Loaded by default for its base.")

    @property
    def path(self) -> Path:
        """The shipped file."""
        return SHIPPED_DIR / self.file


class Catalog(_Record):
    """All models, in catalog order."""

    model: tuple[ModelEntry, ...] = ()
    adapter: tuple[AdapterEntry, ...] = ()
    source: Path | None = None

    def adapter_for(self, base: str) -> AdapterEntry | None:
        """The default shipped adapter for the model `base`, if there is one."""
        return next((a for a in self.adapter if a.base == base and a.default), None)

    def get(self, name: str) -> ModelEntry:
        """The entry called `name`; UserError listing the known names otherwise."""
        for entry in self.model:
            if entry.name == name:
                return entry
        known = ", ".join(e.name for e in self.model)
        raise UserError(f"unknown model '{name}' (known: {known})")

    def default_for(
        self, role: str, engine: str | None = None, language: str | None = None
    ) -> ModelEntry | None:
        """The default model for a role (and engine, and language when it matters)."""
        candidates = [
            e
            for e in self.model
            if e.role == role
            and (engine is None or e.engine == engine)
            and (language is None or e.language in (language, "multi"))
        ]
        exact = [e for e in candidates if language is not None and e.language == language]
        for group in (exact, candidates):
            for entry in group:
                if entry.default:
                    return entry
        return candidates[0] if candidates else None


def default_catalog_path() -> Path:
    """The catalog shipped with the project."""
    return _REPO_CATALOG if _REPO_CATALOG.is_file() else _PACKAGED_CATALOG


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate a catalog file (default: the project's own)."""
    path = path or default_catalog_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: model catalog not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{path}: unreadable model catalog ({exc})") from None
    try:
        catalog = Catalog.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UserError(f"{path}: {where}: {err['msg']}") from None
    names = [e.name for e in catalog.model]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UserError(f"{path}: duplicate model names: {', '.join(duplicates)}")
    orphans = sorted(a.name for a in catalog.adapter if a.base not in names)
    if orphans:
        raise UserError(f"{path}: adapters for no [[model]] in the catalog: {', '.join(orphans)}")
    return catalog.model_copy(update={"source": path})
