"""The second understanding stage: Home Assistant's gazetteer matcher over the live registry.

Runs after the templates and before the model.  ``gazetteer-matcher`` reads
a sentence against the home's own names, areas and floors: it resolves
misheard names ("kitchen sealing"), compound commands, the satellite's area
and follow-ups ("turn it off"), and refuses rather than guesses when a
sentence could mean several things.  This module feeds it the registry,
turns its frames into the ``IntentCall``\\ s the handlers take (names, areas
and floors as the templates give them), keeps each conversation's last
targets for follow-ups, and decides which of its refusals are worth saying
and which sentences the model should try instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gazetteer_matcher import GazetteerMatcher  # type: ignore[import-untyped]

from assistant.devices.registry import Registry
from assistant.understanding.calls import IntentCall, Vocabulary
from assistant.understanding.gazetteer_home import (
    build_home,
    doubtful,
    ordered_state,
    other_slots,
    target_key,
    targets_of_calls,
    tied_readings,
    which_one,
)
from assistant.understanding.handlers import HANDLERS, HandlerRegistry
from assistant.understanding.lists import entity_names, vocabulary
from assistant.understanding.validate import InvalidCall, validate_call

log = logging.getLogger(__name__)

FOLLOW_UP_SECONDS = 300.0
"""How long "turn it off" may refer to what the last command acted on."""

# Refusals the model could not do better on: the sentence is understood as a
# command on this home, but it names several things, an impossible value, or a
# pronoun with nothing (or too much) to refer to.  Any other refusal (no
# action found, words left over, "its" read as a second target) may be an
# indirect request the model knows.
_SPOKEN_REFUSALS = frozenset(
    {
        "ambiguous",
        "invalid_percentage",
        "conflicting_scope",
        "anaphora_missing_target",
        "anaphora_multiple_targets",
        "anaphora_singular_group",
    }
)
_MAX_CHOICES = 4


@dataclass(frozen=True)
class GazetteerResult:
    """What the stage made of one sentence: calls, a refusal to say, or a pass.

    Exactly one holds: ``calls`` non-empty (act on them), ``refusal`` set (say
    it and stop), or ``passed`` (not for this stage: let the model try).
    """

    calls: tuple[IntentCall, ...] = ()
    responses: tuple[str | None, ...] = ()
    """Per call, the response key of Home Assistant's sentences ("lights_area")."""
    refusal: str | None = None
    passed: bool = False
    targets: tuple[object, ...] = field(default=(), compare=False)
    """The matcher's ``TargetReference``\\ s of accepted calls, for follow-ups."""


PASS = GazetteerResult(passed=True)


def is_english(language: str) -> bool:
    """The matcher's vocabulary is English only ("en", "en-GB", "en_US")."""
    return language.replace("_", "-").split("-")[0].casefold() == "en"


class GazetteerStage:
    """The gazetteer matcher kept in step with the registry, with per-origin follow-ups.

    The matcher is built on first use (about a second: it reads Home
    Assistant's intents); call ``warm()`` at start to pay that early.  Registry
    changes only mark the home stale: the next sentence rebuilds it once, so a
    burst of discovery messages costs one ``set_home``.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        language: str = "en",
        handlers: HandlerRegistry = HANDLERS,
        follow_up_seconds: float = FOLLOW_UP_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.language = language
        self.enabled = is_english(language)
        self.handlers = handlers
        self.follow_up_seconds = follow_up_seconds
        self.clock = clock
        self._matcher: Any = None
        self._stale = True
        self._words = Vocabulary()
        self._last: dict[str, tuple[float, tuple[object, ...]]] = {}
        self._unsubscribe = registry.add_listener(self._invalidate)

    def _invalidate(self) -> None:
        self._stale = True

    def close(self) -> None:
        """Stop listening to the registry."""
        self._unsubscribe()

    def warm(self) -> None:
        """Build the matcher and its home now (blocking, ~1 s) rather than on first use."""
        if self.enabled:
            self._current()

    def _current(self) -> Any:
        if self._matcher is None:
            self._matcher = GazetteerMatcher(home=build_home(self.registry))
            self._words = vocabulary(self.registry)
            self._stale = False
        elif self._stale:
            self._matcher.set_home(build_home(self.registry))
            self._words = vocabulary(self.registry)
            self._stale = False
        return self._matcher

    # --- the engine's hook ----------------------------------------------------
    def understand(
        self, text: str, *, origin_key: str, context_area: str | None = None
    ) -> GazetteerResult:
        """Read `text` from conversation `origin_key`; remember its targets if accepted."""
        if not self.enabled or not text.strip():
            return PASS
        result = self.interpret(
            text, context_area=context_area, previous_targets=self.previous_targets(origin_key)
        )
        if result.targets:
            self._last[origin_key] = (self.clock(), result.targets)
        return result

    def note_targets(self, origin_key: str, calls: Sequence[IntentCall]) -> None:
        """Remember what another stage's calls acted on, for a following "turn it off"."""
        if not self.enabled:
            return
        try:
            targets = targets_of_calls(self.registry, calls)
        except ValueError as exc:  # a slot value the matcher's targets cannot hold
            log.debug("no follow-up target from %s: %s", calls, exc)
            return
        if targets:
            self._last[origin_key] = (self.clock(), targets)

    def previous_targets(self, origin_key: str) -> tuple[object, ...]:
        """The conversation's last targets, unless older than the follow-up window."""
        kept = self._last.get(origin_key)
        if kept is None:
            return ()
        at, targets = kept
        if self.clock() - at > self.follow_up_seconds:
            del self._last[origin_key]
            return ()
        return targets

    # --- the stage itself -------------------------------------------------------
    def interpret(
        self,
        text: str,
        *,
        context_area: str | None = None,
        previous_targets: Sequence[object] = (),
    ) -> GazetteerResult:
        """Calls, a refusal or a pass for `text`; remembers nothing."""
        if not self.enabled or not text.strip():
            return PASS
        matcher = self._current()
        try:
            reading = matcher.interpret(
                text, context_area=context_area, previous_targets=tuple(previous_targets)
            )
        except ValueError as exc:
            # The satellite's area is not one the registry knows (yet): read
            # the sentence without it rather than not at all.
            log.debug("gazetteer context ignored: %s", exc)
            reading = matcher.interpret(text, previous_targets=tuple(previous_targets))
        if reading.accepted:
            if any(doubtful(frame, reading.tokens) for frame in reading.frames):
                return PASS
            return self._accepted(reading.frames, tuple(reading.targets), reading.tokens)
        if reading.ambiguous:
            return self._ambiguous(matcher, reading)
        code = reading.rejection_code
        named = (reading.refusal_target or "").startswith("'")
        if code in _SPOKEN_REFUSALS or (code == "unsupported_target_action" and named):
            log.debug("gazetteer refuses %r: %s", text, reading.reason)
            return GazetteerResult(refusal=str(reading.response))
        return PASS

    def _accepted(
        self, frames: Sequence[Any], targets: tuple[object, ...], tokens: Sequence[Any]
    ) -> GazetteerResult:
        schemas = {s.name: s for s in self.handlers.schemas()}
        calls: list[IntentCall] = []
        responses: list[str | None] = []
        for frame in frames:
            call = self._call(frame)
            if call is None:
                return PASS
            ordered = ordered_state(call, tokens)
            responses.append(_response_key(frame) if ordered is None else None)
            call = call if ordered is None else ordered
            schema = schemas.get(call.intent)
            if schema is not None and "domain" not in {slot.name for slot in schema.slots}:
                # "the living room lights at 75%": the intent (HassLightSet)
                # already says what kind of device; its handler takes no domain.
                call = IntentCall(
                    call.intent, {k: v for k, v in call.slots.items() if k != "domain"}
                )
            try:
                calls.append(validate_call(call, schemas, self._words))
            except InvalidCall as exc:
                # An intent this assistant has no handler for (the weather),
                # or a slot it does not take: the model may still know it.
                log.debug("gazetteer call not taken: %s", exc)
                return PASS
        return GazetteerResult(calls=tuple(calls), responses=tuple(responses), targets=targets)

    def _call(self, frame: Any) -> IntentCall | None:
        """A frame as the templates would give it: names, not ids."""
        slots: dict[str, Any] = {}
        for key, value in dict(frame.slots).items():
            if key != "name":
                slots[key] = value
                continue
            entity = self.registry.get(str(value))
            if entity is None:
                return None  # the registry changed under the matcher
            names = entity_names(entity)
            slots["name"] = names[0] if names else entity.name
            if entity.area and "area" not in frame.slots and self._shared(names[0]):
                # The handlers find devices by name: where two share it, the
                # area is what keeps the one the matcher picked.
                slots["area"] = entity.area
        return IntentCall(str(frame.intent), slots)

    def _shared(self, name: str) -> bool:
        wanted = name.casefold()
        holders = [
            e
            for e in self.registry.entities()
            if any(n.casefold() == wanted for n in entity_names(e))
        ]
        return len(holders) > 1

    def _ambiguous(self, matcher: Any, reading: Any) -> GazetteerResult:
        """Ask which one, naming the candidates; accept a tie that means one thing."""
        segment = reading.segments[-1] if reading.segments else None
        tied = tied_readings(matcher, list(segment.frame_candidates) if segment else [])
        if not tied:
            return GazetteerResult(refusal=str(reading.response))
        meanings = {(c.intent, other_slots(c.slots), target_key(self.registry, c)) for c in tied}
        if len(meanings) == 1 and not doubtful(tied[0], reading.tokens):
            # "the reading lamp in the bedroom" reads as the lamp by name, and by
            # name and room: two readings, one device, one action.
            result = self._accepted([*reading.frames, tied[0]], (), reading.tokens)
            if result.passed:
                return result
            targets = targets_of_calls(self.registry, result.calls)
            return GazetteerResult(result.calls, result.responses, targets=targets)
        labels: list[str] = []
        for candidate in tied:
            label = self._label(matcher, candidate, tied)
            if label and label not in labels:
                labels.append(label)
        if len(labels) < 2:
            return GazetteerResult(refusal=str(reading.response))
        return GazetteerResult(refusal=which_one(labels[:_MAX_CHOICES]))

    def _label(self, matcher: Any, candidate: Any, tied: Sequence[Any]) -> str:
        """How to name a candidate's target in a question."""
        entity_id = candidate.slots.get("name")
        entity = self.registry.get(str(entity_id)) if entity_id is not None else None
        if entity is None:
            phrase = matcher.responder.target_phrase([], [candidate])
            return str(phrase) if phrase else ""
        names = entity_names(entity)
        name = names[0] if names else entity.name
        others = [
            self.registry.get(str(c.slots.get("name")))
            for c in tied
            if c.slots.get("name") not in (None, entity_id)
        ]
        if entity.area and any(o is not None and entity_names(o)[:1] == [name] for o in others):
            return f"{name} in {entity.area}"
        return name


def _response_key(frame: Any) -> str | None:
    key = frame.response_key
    return str(key) if key else None
