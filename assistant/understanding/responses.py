"""Reply text from Home Assistant's response templates (Jinja2), as HA renders them.

Templates see ``slots`` (what was said, or the value), ``state`` (the first
entity acted on or asked about) and ``query.matched`` / ``query.unmatched``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from assistant.devices.entities import Entity, EntityState

if TYPE_CHECKING:
    from assistant.devices.registry import Registry
    from assistant.understanding.handlers import IntentContext
    from assistant.understanding.outcome import Step

log = logging.getLogger(__name__)


class TemplateState:
    """What a response template may read about one entity (HA's TemplateState)."""

    def __init__(self, entity: Entity, state: EntityState) -> None:
        self.entity_id = entity.entity_id
        self.name = entity.name
        self.domain = entity.domain
        self.object_id = entity.entity_id.partition(".")[2]
        self.state = state.state if state.state is not None else "unknown"
        attributes = dict(state.attributes)
        if entity.device_class and "device_class" not in attributes:
            attributes["device_class"] = entity.device_class
        self.attributes = attributes
        unit = entity.unit or attributes.get("unit_of_measurement")
        self.state_with_unit = f"{self.state} {unit}" if unit else self.state

    def __str__(self) -> str:
        return self.state

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.state == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.entity_id)


def _environment(states: Mapping[str, TemplateState]) -> SandboxedEnvironment:
    env = SandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def state_attr(entity_id: str, name: str) -> Any:
        found = states.get(entity_id)
        return None if found is None else found.attributes.get(name)

    def is_state(entity_id: str, value: str) -> bool:
        found = states.get(entity_id)
        return found is not None and found.state == value

    globals_: dict[str, Callable[..., Any]] = {"state_attr": state_attr, "is_state": is_state}
    env.globals.update(globals_)
    return env


def render(
    template: str,
    slots: Mapping[str, Any],
    matched: Sequence[TemplateState] = (),
    unmatched: Sequence[TemplateState] = (),
) -> str:
    """Render a response template; whitespace normalised like Home Assistant does."""
    states = {s.entity_id: s for s in (*matched, *unmatched)}
    first = matched[0] if matched else (unmatched[0] if unmatched else None)
    env = _environment(states)
    try:
        text = env.from_string(template).render(
            slots=dict(slots),
            state=first,
            query={"matched": list(matched), "unmatched": list(unmatched)},
        )
    except TemplateError as exc:
        log.warning("response template failed: %s", exc)
        return ""
    return " ".join(text.split())


def render_error(template: str, **values: Any) -> str:
    """Render one of the package's error templates (no_entity, no_area, ...)."""
    env = SandboxedEnvironment()
    try:
        return " ".join(env.from_string(template).render(**values).split())
    except TemplateError as exc:
        log.warning("error template failed: %s", exc)
        return "Sorry, that did not work"


def reply_for(
    ctx: IntentContext,
    step: Step,
    responses: Mapping[str, Mapping[str, str]],
    registry: Registry,
    done: str,
) -> str:
    """The matched sentence's response template, rendered with what the handler did.

    `done` is said when the intent has no template (or it renders empty).
    """
    templates = responses.get(ctx.intent, {})
    key = ctx.response or step.response or _domain_key(ctx, templates) or "default"
    template = templates.get(key) or templates.get("default")
    if template is None:
        return done
    slots: dict[str, Any] = {
        name: step.texts.get(name) or value for name, value in ctx.slots.items()
    }
    slots.update(ctx.speech_slots)
    matched = [TemplateState(e, registry.state(e.entity_id)) for e in ctx.matched]
    unmatched = [TemplateState(e, registry.state(e.entity_id)) for e in ctx.unmatched]
    text = render(template, slots, matched, unmatched)
    # A template that had nothing for this case renders None ("Turned off None").
    return done if not text or re.search(r"\bNone\b", text) else text


def _domain_key(ctx: IntentContext, templates: Mapping[str, str]) -> str | None:
    """The response a template sentence about these devices would name ("cover", "lock").

    A model's call carries no response name; Home Assistant's sentences for
    covers, locks and valves under HassTurnOn/Off name their own ("Closing").
    """
    domains = {e.domain for e in ctx.matched}
    if len(domains) == 1:
        domain = domains.pop()
        if domain in templates:
            return domain
    return None
