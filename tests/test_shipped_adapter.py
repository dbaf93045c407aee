"""The distilled adapter that ships in the package: what the catalog says it is, loaded by default.

Real parts: the catalog, the shipped file, the training config that made it,
and the runtime's own model worker (``LlmProcess``) on the embedded base.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import UserError
from assistant.models.catalog import SHIPPED_DIR, load_catalog
from assistant.models.hashing import sha256_file
from assistant.understanding import factory
from assistant.understanding.factory import checked_adapter

ROOT = Path(__file__).resolve().parents[1]
BASE = Settings().understanding.llm_model


def test_the_default_model_has_a_shipped_adapter_whose_sha256_matches_the_catalog() -> None:
    entry = load_catalog().adapter_for(BASE)
    assert entry is not None
    assert entry.path.is_relative_to(SHIPPED_DIR)
    assert entry.path.stat().st_size == entry.size <= 20 * 1024 * 1024
    assert sha256_file(entry.path) == entry.sha256
    # The config that made it names the same base, and the run's report the same file.
    recipe = tomllib.loads((ROOT / entry.config).read_text(encoding="utf-8"))
    assert recipe["base"]["catalog"] == entry.base == BASE
    report = json.loads(entry.path.with_suffix(".report.json").read_text(encoding="utf-8"))
    assert report["adapter_gguf"]["sha256"] == entry.sha256
    assert report["data"]["sha256"]["train.jsonl"] == entry.data_sha256
    assert checked_adapter(BASE, "auto", None) == entry.path


def test_a_changed_shipped_adapter_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = load_catalog().adapter_for(BASE)
    assert entry is not None
    fake = tmp_path / entry.file
    fake.parent.mkdir(parents=True)
    fake.write_bytes(entry.path.read_bytes()[:-1] + b"\0")
    monkeypatch.setattr("assistant.models.catalog.SHIPPED_DIR", tmp_path)
    with pytest.raises(UserError, match=r"differs from models/catalog\.toml"):
        checked_adapter(BASE, "auto", None)


def test_the_default_settings_load_the_shipped_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    class Recorder:
        def __init__(self, path: Path, **options: object) -> None:
            seen.update(options, path=path)

    monkeypatch.setattr("assistant.understanding.llm_process.LlmProcess", Recorder)
    assert factory.make_fallback(Settings()) is not None
    entry = load_catalog().adapter_for(BASE)
    assert entry is not None
    assert seen["adapter"] == entry.path
    off = Settings.model_validate({"understanding": {"llm_adapter": "off"}})
    factory.make_fallback(off)
    assert seen["adapter"] is None
