"""Build the configured speech-recognition engine."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.config import Settings
from assistant.cpu.budget import thread_budget
from assistant.errors import UserError
from assistant.models import ModelStore
from assistant.stt.base import SttEngine

if TYPE_CHECKING:
    from assistant.stt.whisper import WhisperEngine


def resolve_model(
    settings: Settings,
    engine: str,
    model: str | None,
    store: ModelStore | None = None,
) -> tuple[Path, str]:
    """(path, name) of the model: a directory given as is, a catalog name, or the default."""
    if model is not None and ("/" in model or model.startswith(".")):
        path = Path(model).expanduser()
        if not path.exists():
            raise UserError(f"stt model directory {path} does not exist")
        return path, path.name
    store = store or ModelStore.from_settings(settings)
    if model is None:
        entry = store.catalog.default_for("stt", engine, settings.stt.language)
        if entry is None:
            raise UserError(
                f"no {engine} model for language '{settings.stt.language}' in the catalog; "
                "set [stt] model"
            )
        model = entry.name
    entry = store.catalog.get(model)
    if entry.role != "stt" or entry.engine != engine:
        raise UserError(f"model '{model}' is a {entry.engine} {entry.role} model, not {engine} stt")
    return store.locate(model), model


def create_engine(
    settings: Settings,
    engine: str | None = None,
    model: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> SttEngine:
    """The engine [stt] describes; `engine`/`model` override the config (CLI flags)."""
    kind = engine or settings.stt.engine
    name = model if model is not None else settings.stt.model
    store = ModelStore.from_settings(settings, environ=environ)
    # Two passes: `model` names the Vosk (closed-vocabulary) one.
    path, model_name = resolve_model(settings, "vosk" if kind == "two-pass" else kind, name, store)
    if kind == "whisper":
        return _whisper(settings, path, model_name)
    if kind == "vosk":
        from assistant.stt.vosk import VoskEngine

        return VoskEngine(path, model_name)
    if kind == "two-pass":
        from assistant.stt.two_pass import TwoPassEngine
        from assistant.stt.vosk import VoskEngine

        whisper_path, whisper_name = resolve_model(settings, "whisper", None, store)
        return TwoPassEngine(
            VoskEngine(path, model_name),
            _whisper(settings, whisper_path, whisper_name),
            settings.stt.two_pass_confidence,
        )
    raise UserError(f"unknown stt engine '{kind}' (whisper, vosk or two-pass)")


def _whisper(settings: Settings, path: Path, model_name: str) -> WhisperEngine:
    from assistant.stt.whisper import WhisperEngine

    return WhisperEngine(
        path,
        model_name,
        language=settings.stt.language,
        threads=settings.stt.threads or thread_budget().stt,
        beam_size=settings.stt.beam_size,
        max_seconds=settings.vad.max_utterance_seconds,
        window_seconds=settings.stt.window_seconds,
    )
