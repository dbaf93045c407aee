"""The contract of the stage after the templates: a fallback that reads a sentence.

`Fallback` is what the engine calls (blocking; it runs them in a thread).
`LlmAdapter` presents the GGUF model (`LlmFallback` in this process or
`LlmProcess` in a worker) as one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from assistant.understanding.calls import IntentCall, IntentSchema, Vocabulary
from assistant.understanding.validate import InvalidCall, validate_call

if TYPE_CHECKING:  # the model's module loads the prompt machinery: only when used
    from assistant.understanding.llm import LlmResult, LlmTimings

__all__ = ["Fallback", "LlmAdapter", "LlmBackend", "ask_fallback"]

log = logging.getLogger(__name__)


class Fallback(Protocol):
    """Reads a sentence the templates did not match (the LLM)."""

    def parse(
        self, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
    ) -> list[IntentCall] | None:
        """Intent calls for `text`, [] for "none", None on failure or timeout."""
        ...

    def warm(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> None:
        """Prepare for these intents and names ahead of the next sentence (may do nothing)."""
        ...


class LlmBackend(Protocol):
    """`LlmFallback` and `LlmProcess`: the model, in this process or in a worker."""

    def parse(
        self, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
    ) -> LlmResult:
        """Sentence -> validated calls, or an error; never raises for bad output."""
        ...

    def warm(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> LlmTimings:
        """Evaluate the static prompt prefix now."""
        ...

    def close(self) -> None:
        """Free the model (end its worker process)."""
        ...


class LlmAdapter:
    """Presents an `LlmBackend` as the engine's `Fallback` (result shape, logging)."""

    def __init__(self, backend: LlmBackend) -> None:
        self.backend = backend

    def warm(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> None:
        """Evaluate the static prompt prefix now (blocking; seconds on a small CPU)."""
        self.backend.warm(schemas, vocabulary)

    def close(self) -> None:
        """Free the model; a warm-up still running ends with an error, not a new worker."""
        self.backend.close()

    def parse(
        self, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
    ) -> list[IntentCall] | None:
        """Calls from the model; None when its output was unusable or it ran out of time."""
        result = self.backend.parse(text, schemas, vocabulary)
        if result.error is not None:
            log.info("LLM gave no usable answer for %r: %s", text, result.error)
            return None
        return list(result.calls)


async def ask_fallback(
    fallback: Fallback, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
) -> list[IntentCall]:
    """The fallback's calls for `text`, each validated; [] when any is refused.

    Run in a thread (the model blocks).  The calls are checked against the
    whole live vocabulary whatever the fallback did itself: a fallback is
    trusted no more than its output.
    """
    calls = await asyncio.to_thread(fallback.parse, text, schemas, vocabulary)
    if not calls:
        return []
    by_name = {schema.name: schema for schema in schemas}
    try:
        return [validate_call(call, by_name, vocabulary) for call in calls]
    except InvalidCall as exc:
        log.info("fallback call refused: %s", exc)
        return []
