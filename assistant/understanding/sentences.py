"""Sentence templates: Home Assistant's intents for a language, plus custom YAML files.

The merged dictionary is compiled once into a hassil ``Intents`` object; the
slot lists that depend on the home (names, areas, floors) are passed at
recognition time, so a device change never recompiles the sentences.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from hassil.intents import Intents
from hassil.parser import ParseError
from hassil.util import merge_dict

from assistant.errors import UserError

log = logging.getLogger(__name__)

# Metadata key set on every custom sentence block: recognize_best prefers it,
# as Home Assistant prefers custom sentences over its built-in ones.
CUSTOM_KEY = "assistant_custom"


@dataclass(frozen=True)
class TemplateSet:
    """Compiled sentences with their response templates."""

    language: str
    intents: Intents
    responses: Mapping[str, Mapping[str, str]]
    errors: Mapping[str, str]
    data: Mapping[str, Any]
    custom_files: tuple[Path, ...] = field(default=())


@lru_cache(maxsize=4)
def _builtin(language: str) -> dict[str, Any]:
    from home_assistant_intents import get_intents

    data = get_intents(language)
    if data is None:
        raise UserError(f"no built-in sentences for language '{language}'")
    return data


def builtin_dict(language: str) -> dict[str, Any]:
    """A private deep copy of Home Assistant's intents for `language`."""
    return copy.deepcopy(_builtin(language))


def read_yaml(path: Path) -> dict[str, Any]:
    """One custom sentence file as a dict; UserError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise UserError(f"{where}: not valid YAML ({problem})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}:1: expected a mapping with 'intents'")
    return data


def mark_custom(data: dict[str, Any]) -> dict[str, Any]:
    """Tag every sentence block of a custom file so it wins over built-in ones."""
    for intent in (data.get("intents") or {}).values():
        for block in intent.get("data") or []:
            meta = dict(block.get("metadata") or {})
            meta[CUSTOM_KEY] = True
            block["metadata"] = meta
    return data


def load_templates(
    language: str,
    custom_files: Sequence[Path] = (),
    keep_intents: Iterable[str] | None = None,
) -> TemplateSet:
    """Merge built-in sentences with custom files and compile them.

    `keep_intents` limits the built-in intents to those that have a handler,
    so a sentence we cannot act on ("play some music") is never matched.
    """
    data = builtin_dict(language)
    if keep_intents is not None:
        wanted = set(keep_intents)
        data["intents"] = {k: v for k, v in data["intents"].items() if k in wanted}
    for path in custom_files:
        custom = mark_custom(read_yaml(path))
        custom.setdefault("language", language)
        if custom.get("language") != language:
            log.info("%s: skipped, language %s", path, custom.get("language"))
            continue
        merge_dict(data, custom)
    try:
        intents = Intents.from_dict(data)
    except (ParseError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"cannot compile sentences: {exc}") from None
    responses = data.get("responses", {})
    return TemplateSet(
        language=language,
        intents=intents,
        responses=responses.get("intents", {}),
        errors=responses.get("errors", {}),
        data=data,
        custom_files=tuple(custom_files),
    )
