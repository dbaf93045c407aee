"""Where intents come from: the built-in `intents` package, a user directory, and
installed packages (entry-point group ``assistant.intents``).

An intent is one YAML of sentences (hassil format) and one Python module
whose ``@intent_handler`` registers the handler.  Importing the module is
what registers it; YAML files found next to it are merged into the templates.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import pkgutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType

from assistant.errors import UserError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "assistant.intents"


@dataclass
class IntentSources:
    """The YAML files and Python modules found."""

    yaml_files: list[Path] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)


def _yaml_in(directory: Path) -> list[Path]:
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def _import_package(name: str, sources: IntentSources) -> None:
    package = importlib.import_module(name)
    sources.modules.append(name)
    paths = [Path(p) for p in getattr(package, "__path__", [])]
    for path in paths:
        sources.yaml_files.extend(_yaml_in(path))
    for info in sorted(pkgutil.iter_modules([str(p) for p in paths]), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{name}.{info.name}")
        sources.modules.append(f"{name}.{info.name}")


def _import_file(path: Path) -> ModuleType:
    """Import a user's handler file under a private, stable module name."""
    digest = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()[:10]
    module_name = f"assistant_user_intents.{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"{path}: cannot import")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise UserError(f"{path}:{exc.lineno}: {exc.msg}") from None
    except ImportError as exc:
        sys.modules.pop(module_name, None)
        raise UserError(f"{path}: {exc}") from None
    return module


def load_directory(directory: Path, sources: IntentSources) -> None:
    """A user intents directory: every *.yaml and every *.py in it."""
    if not directory.is_dir():
        raise UserError(f"{directory}: intents directory not found")
    sources.yaml_files.extend(_yaml_in(directory))
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = _import_file(path)
        sources.modules.append(module.__name__)


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def load_entry_points(sources: IntentSources) -> None:
    """Packages that declare `[project.entry-points."assistant.intents"]`."""
    for entry in _entry_points():
        try:
            loaded = entry.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not stop the assistant
            log.warning("intents plug-in %s failed to load: %s", entry.name, exc)
            continue
        module = loaded if isinstance(loaded, ModuleType) else sys.modules.get(entry.module)
        if module is None:
            continue
        sources.modules.append(module.__name__)
        for path in getattr(module, "__path__", []) or [Path(module.__file__ or ".").parent]:
            sources.yaml_files.extend(_yaml_in(Path(path)))


def discover(
    user_dir: Path | None = None,
    extra_dirs: Iterable[Path] = (),
    entry_points: bool = True,
) -> IntentSources:
    """Import every handler and list every sentence file."""
    sources = IntentSources()
    _import_package("assistant.intents", sources)
    if entry_points:
        load_entry_points(sources)
    for directory in (*([user_dir] if user_dir else []), *extra_dirs):
        load_directory(directory, sources)
    # The same file found twice (a package also on the user path) counts once.
    unique: dict[Path, None] = {p.resolve(): None for p in sources.yaml_files}
    sources.yaml_files = list(unique)
    return sources
