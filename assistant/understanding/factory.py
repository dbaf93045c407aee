"""Build an ``Understanding`` from the settings (used by `ask`, `intents` and the pipeline)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from assistant.config import Settings
from assistant.devices.entities import Executor
from assistant.devices.registry import Registry
from assistant.errors import UserError
from assistant.understanding.conversation import Announce
from assistant.understanding.engine import Understanding
from assistant.understanding.fallback import Fallback, LlmAdapter
from assistant.understanding.handlers import HANDLERS
from assistant.understanding.loader import IntentSources, discover
from assistant.understanding.sentences import load_templates

log = logging.getLogger(__name__)


def checked_adapter(adapter: Path | None, sha256: str | None) -> Path | None:
    """The configured LoRA adapter, after checking that it is the file meant."""
    if adapter is None:
        return None
    from assistant.models.hashing import sha256_file

    if not adapter.is_file():
        raise UserError(f"[understanding] llm_adapter {adapter}: no such file")
    if sha256 is not None and sha256_file(adapter) != sha256.lower():
        raise UserError(f"[understanding] llm_adapter {adapter}: sha256 differs from the config's")
    return adapter


def make_fallback(settings: Settings) -> Fallback | None:
    """The LLM fallback when `[understanding] llm` is not "off" (None if unavailable)."""
    config = settings.understanding
    if config.llm == "off":
        return None
    try:
        from assistant.models import ModelStore
        from assistant.understanding.llm_process import LlmProcess

        path = ModelStore.from_settings(settings).locate(config.llm_model)
        adapter = checked_adapter(config.llm_adapter, config.llm_adapter_sha256)
        # In its own process: llama.cpp and Silero VAD cannot share one (libggml).
        fallback = LlmProcess(
            path,
            threads=config.llm_threads,
            context=config.llm_context,
            timeout_s=config.llm_timeout_seconds,
            adapter=adapter,
        )
    except (ImportError, UserError) as exc:
        log.warning("LLM fallback unavailable (%s); templates only", exc)
        return None
    return LlmAdapter(fallback)


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
        confirm_llm=config.llm_confirm,
    )
    return understanding, sources
