"""Intent handlers: the registration decorator and the context a handler sees.

A handler is ``async def handler(ctx: IntentContext) -> str | None``.  It reads
``ctx.slots``, finds entities with ``ctx.targets()``, acts with
``await ctx.execute(entity, action, **params)`` (the actions and their
parameters are ``assistant.devices.actions``, checked by mypy) and either
returns the reply text or returns None to let the response template of the
matched sentence speak (rendered with the slots and the entities it acted
on).  It sees the registry, the executor and the conversation, never MQTT.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.devices.actions import ActionName, ActionParams
from assistant.devices.entities import Action, Entity, Executor
from assistant.devices.registry import Registry
from assistant.errors import UserError
from assistant.understanding.calls import IntentSchema, SlotSpec
from assistant.understanding.conversation import Conversation
from assistant.understanding.targets import TargetError, match_targets, query_from_slots

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from assistant.understanding.timers import TimerManager

log = logging.getLogger(__name__)

IntentHandler = Callable[["IntentContext"], Awaitable[str | None]]
SensitivePolicy = Callable[[Entity, ActionName], bool]


class IntentError(Exception):
    """The request cannot be done; str(error) is the reply."""


class NeedsConfirmation(Exception):
    """A sensitive action: ask "Are you sure?" before doing it."""

    def __init__(self, entity_ids: tuple[str, ...], seconds: float) -> None:
        super().__init__("confirmation needed")
        self.entity_ids = entity_ids
        self.seconds = seconds


@dataclass(frozen=True)
class HandlerSpec:
    """A registered handler with its schema."""

    schema: IntentSchema
    func: IntentHandler
    module: str
    llm: bool = True  # offered to the LLM fallback (its prompt and grammar)


class HandlerRegistry:
    """Intent name -> handler."""

    def __init__(self) -> None:
        self._handlers: dict[str, HandlerSpec] = {}
        self._listeners: list[Callable[[], None]] = []

    def register(self, spec: HandlerSpec) -> None:
        """Add or replace the handler of `spec.schema.name`."""
        self._handlers[spec.schema.name] = spec
        for listener in list(self._listeners):
            listener()

    def get(self, intent: str) -> HandlerSpec | None:
        """The handler of an intent."""
        return self._handlers.get(intent)

    def names(self) -> list[str]:
        """Every intent with a handler."""
        return sorted(self._handlers)

    def specs(self) -> list[HandlerSpec]:
        """Every registration, by intent name."""
        return [self._handlers[n] for n in self.names()]

    def schemas(self, llm_only: bool = False) -> list[IntentSchema]:
        """Schemas for validation, or (llm_only) those offered to the LLM fallback."""
        return [s.schema for s in self.specs() if s.llm or not llm_only]

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener()` when a handler is added; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)


# Handlers register here when their module is imported (see loader.py).
HANDLERS = HandlerRegistry()


def intent_handler(
    name: str,
    description: str = "",
    *,
    slots: tuple[SlotSpec, ...] = (),
    sensitive: bool = False,
    llm: bool = True,
    registry: HandlerRegistry | None = None,
) -> Callable[[IntentHandler], IntentHandler]:
    """Register `func` as the handler of intent `name` (the key of its sentences YAML).

    The name is written here only: the schema that describes its `slots` to
    the LLM grammar and the validator is built from these arguments.
    `sensitive` asks "Are you sure?" first.  `llm=False` keeps a rarely
    paraphrased intent out of the small model's prompt (its context is
    short); templates still match it.
    """
    schema = IntentSchema(name, description or name, slots, sensitive=sensitive)

    def decorate(func: IntentHandler) -> IntentHandler:
        (registry or HANDLERS).register(HandlerSpec(schema, func, func.__module__, llm))
        return func

    return decorate


@dataclass
class IntentContext:
    """Everything a handler may use, and what it did."""

    intent: str
    slots: dict[str, Any]
    registry: Registry
    executor: Executor
    conversation: Conversation
    schema: IntentSchema
    texts: Mapping[str, str] = field(default_factory=dict)
    area: str | None = None
    timers: TimerManager | None = None
    confirmed: bool = False
    sensitive: SensitivePolicy = field(default=lambda _e, _a: False)
    confirm_seconds: Callable[[Entity], float] = field(default=lambda _e: 10.0)
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now().astimezone())
    # What the handler did, read by the engine afterwards.
    actions: list[Action] = field(default_factory=list)
    matched: list[Entity] = field(default_factory=list)
    unmatched: list[Entity] = field(default_factory=list)
    speech_slots: dict[str, Any] = field(default_factory=dict)
    response: str | None = None
    error_templates: Mapping[str, str] = field(default_factory=dict)

    def targets(self, domains: Collection[str] = ()) -> list[Entity]:
        """The entities the slots point at, limited to `domains`; IntentError if none.

        "Turn on the lights here" already carries the assistant's area: the
        sentence requires it as context and hassil copies it into the slots.
        """
        slots = dict(self.slots)
        try:
            return match_targets(self.registry, query_from_slots(slots, domains))
        except TargetError as exc:
            raise IntentError(self.error_text(exc.key, **exc.values)) from None

    def error_text(self, key: str, **values: Any) -> str:
        """One of the intents package's error replies, filled in."""
        from assistant.understanding.responses import render_error

        template = self.error_templates.get(key)
        if template is None:
            return "Sorry, that did not work"
        return render_error(template, **values)

    def check_confirmation(self, entities: Collection[Entity], action: ActionName) -> None:
        """Raise NeedsConfirmation when an action on these entities is sensitive."""
        if self.confirmed:
            return
        risky = [e for e in entities if self.schema.sensitive or self.sensitive(e, action)]
        if risky:
            seconds = min(self.confirm_seconds(e) for e in risky)
            raise NeedsConfirmation(tuple(e.entity_id for e in risky), seconds)

    async def execute(
        self, entity: Entity, action: ActionName, **params: Unpack[ActionParams]
    ) -> Action:
        """Send one command and remember it (and the entity, for the reply)."""
        done = await self.executor.execute(entity.entity_id, action, **params)
        self.actions.append(done)
        if entity not in self.matched:
            self.matched.append(entity)
        return done

    async def execute_all(
        self,
        entities: Collection[Entity],
        action_for: Callable[[Entity], ActionName | None],
        **params: Unpack[ActionParams],
    ) -> list[Action]:
        """Ask before anything sensitive, then act on every entity (None = skip it)."""
        plan = [(e, action_for(e)) for e in entities]
        plan_ok = [(e, a) for e, a in plan if a is not None]
        for entity, action in plan_ok:
            self.check_confirmation([entity], action)
        done: list[Action] = []
        refused: list[str] = []
        for entity, action in plan_ok:
            try:
                done.append(await self.execute(entity, action, **params))
            except UserError as exc:
                # One device that cannot do it must not stop the others.
                log.info("%s %s refused: %s", action, entity.entity_id, exc)
                refused.append(str(exc))
        if refused and not done:
            raise IntentError(f"Sorry, {refused[0]}")
        return done

    def supporting(self, entities: Collection[Entity], feature: str) -> list[Entity]:
        """The entities that have `feature` (all when none says what it supports)."""
        able = [e for e in entities if feature in e.features]
        if able:
            return able
        if any(e.features for e in entities):
            raise IntentError(self.error_text("feature_not_supported"))
        return list(entities)
