"""Build an ``Understanding`` from the settings (used by `ask`, `intents` and the pipeline)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from assistant.config import Settings
from assistant.config_llm_server import uses_local_model
from assistant.cpu.budget import thread_budget
from assistant.cpu.foreground import Foreground
from assistant.devices.entities import Executor
from assistant.devices.registry import Registry
from assistant.errors import UserError
from assistant.understanding.conversation import Announce
from assistant.understanding.engine import Understanding
from assistant.understanding.fallback import Fallback, LlmAdapter, LlmBackend
from assistant.understanding.handlers import HANDLERS
from assistant.understanding.loader import IntentSources, discover
from assistant.understanding.sentences import load_templates

log = logging.getLogger(__name__)


def checked_adapter(model: str, adapter: str, sha256: str | None) -> Path | None:
    """The LoRA adapter `[understanding] llm_adapter` names for `model`, checked.

    "auto" is the adapter the catalog ships for the model (none for a model
    without one), verified against the catalog's sha256; "off" is none; any
    other value is a path, verified against `sha256` when that is given.
    """
    from assistant.models.hashing import sha256_file

    if adapter == "off":
        return None
    if adapter == "auto":
        from assistant.models.catalog import load_catalog

        entry = load_catalog().adapter_for(model)
        if entry is None:
            return None
        if not entry.path.is_file() or sha256_file(entry.path) != entry.sha256:
            raise UserError(
                f"the shipped adapter {entry.name} ({entry.path}) is missing or differs from "
                "models/catalog.toml: reinstall the assistant, or set "
                '[understanding] llm_adapter = "off"'
            )
        return entry.path
    path = Path(adapter).expanduser()
    if not path.is_file():
        raise UserError(f"[understanding] llm_adapter {path}: no such file")
    if sha256 is not None and sha256_file(path) != sha256.lower():
        raise UserError(f"[understanding] llm_adapter {path}: sha256 differs from the config's")
    return path


def make_fallback(settings: Settings, foreground: Foreground | None = None) -> Fallback | None:
    """The LLM fallback when `[understanding] llm` is not "off" (None if unavailable).

    "server": the `[llm_server]` model first, the local one when it cannot answer.
    The local model's warm-ups pause while `foreground` is held.
    """
    config = settings.understanding
    if config.llm == "off":
        return None
    server = settings.llm_server
    if config.llm == "server" and not server.url:
        log.warning('[understanding] llm = "server" but [llm_server] url is not set: local model')
    local = _local_model(settings, foreground) if uses_local_model(config.llm, server) else None
    if config.llm == "server" and server.url:
        from assistant.understanding.llm_server import ServerBackend

        return LlmAdapter(ServerBackend(server, local))
    return LlmAdapter(local) if local is not None else None


def describe_fallback(settings: Settings) -> str:
    """What answers after the templates, for status lines: the server and/or the local model."""
    config = settings.understanding
    local = config.llm_model if uses_local_model(config.llm, settings.llm_server) else ""
    if config.llm == "server" and settings.llm_server.url:
        return f"model server, then {local}" if local else "model server only"
    return local


def _local_model(settings: Settings, foreground: Foreground | None) -> LlmBackend | None:
    """The GGUF model in its worker process (None, with a warning, if unavailable)."""
    config = settings.understanding
    try:
        from assistant.models import ModelStore
        from assistant.understanding.llm_process import LlmProcess

        path = ModelStore.from_settings(settings).locate(config.llm_model)
        adapter = checked_adapter(config.llm_model, config.llm_adapter, config.llm_adapter_sha256)
        # In its own process: llama.cpp and Silero VAD cannot share one (libggml).
        return LlmProcess(
            path,
            threads=config.llm_threads or thread_budget().llm,
            context=config.llm_context,
            timeout_s=config.llm_timeout_seconds,
            foreground=foreground,
            adapter=adapter,
        )
    except (ImportError, UserError) as exc:
        log.warning("LLM fallback unavailable (%s); templates only", exc)
        return None


def build(
    settings: Settings,
    registry: Registry,
    executor: Executor,
    *,
    fallback: Fallback | None = None,
    announce: Announce | None = None,
    extra_dirs: Iterable[Path] = (),
    entry_points: bool = True,
    foreground: Foreground | None = None,
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
        # The server stands where the local model would: after the templates and gazetteer.
        llm_mode="fallback" if config.llm == "server" else config.llm,
        fallback=fallback,
        area=config.area,
        confirm_seconds=config.confirm_seconds,
        entity_confirm_seconds=confirm,
        entity_sensitive=sensitive,
        announce=announce,
        confirm_llm=config.llm_confirm,
        foreground=foreground,
    )
    return understanding, sources
