"""Build an ``Understanding`` from the settings (used by `ask`, `intents` and the pipeline)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.devices.model import Executor
from assistant.devices.registry import Registry
from assistant.understanding.conversation import Announce
from assistant.understanding.engine import Fallback, Understanding
from assistant.understanding.handlers import HANDLERS
from assistant.understanding.loader import IntentSources, discover
from assistant.understanding.templates import load_templates

log = logging.getLogger(__name__)


def make_fallback(settings: Settings) -> Fallback | None:
    """The LLM fallback when `[understanding] llm` is not "off" (None if unavailable)."""
    if settings.understanding.llm == "off":
        return None
    try:
        from assistant.understanding import llm
    except ImportError as exc:
        log.warning("LLM fallback unavailable: %s", exc)
        return None
    builder: Any = getattr(llm, "from_settings", None)
    if builder is None:
        log.warning("LLM fallback unavailable: llm.from_settings missing")
        return None
    fallback: Fallback | None = builder(settings)
    return fallback


def build(
    settings: Settings,
    registry: Registry,
    executor: Executor,
    *,
    fallback: Fallback | None = None,
    announce: Announce | None = None,
    extra_dirs: Iterable[Path] = (),
    entry_points: bool = True,
) -> tuple[Understanding, IntentSources]:
    """Discover intents, compile templates, and wire the engine."""
    config = settings.understanding
    sources = discover(config.intents_dir, extra_dirs, entry_points=entry_points)
    templates = load_templates(config.language, sources.yaml_files, keep_intents=HANDLERS.names())
    confirm = {
        entity_id: o.confirm_seconds
        for entity_id, o in settings.entities.items()
        if o.confirm_seconds is not None
    }
    sensitive = {
        entity_id: o.sensitive
        for entity_id, o in settings.entities.items()
        if o.sensitive is not None
    }
    understanding = Understanding(
        registry,
        executor,
        templates,
        handlers=HANDLERS,
        llm_mode=config.llm,
        fallback=fallback,
        area=config.area,
        confirm_seconds=config.confirm_seconds,
        entity_confirm_seconds=confirm,
        entity_sensitive=sensitive,
        announce=announce,
    )
    return understanding, sources
