"""What one utterance led to, and the small records the engine passes between steps."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.devices.entities import Action
from assistant.understanding.calls import IntentCall
from assistant.understanding.matcher import TemplateMatch


@dataclass(frozen=True)
class Outcome:
    """What one utterance led to (the `ask --json` object)."""

    text: str
    intent: str | None
    slots: Mapping[str, Any]
    actions: tuple[Action, ...]
    reply: str
    handled_by: str | None
    timings_ms: Mapping[str, float]
    calls: tuple[IntentCall, ...] = ()
    awaiting_confirmation: bool = False

    @classmethod
    def of(
        cls,
        text: str,
        calls: Sequence[IntentCall],
        done: Dispatched,
        handled_by: str | None,
        timings_ms: Mapping[str, float],
    ) -> Outcome:
        """The outcome of dispatching `calls` (the first one gives `intent` and `slots`)."""
        first = calls[0] if calls else None
        return cls(
            text=text,
            intent=first.intent if first else None,
            slots=dict(first.slots) if first else {},
            actions=tuple(done.actions),
            reply=join_replies(done.replies),
            handled_by=handled_by,
            timings_ms=dict(timings_ms),
            calls=tuple(calls),
            awaiting_confirmation=done.awaiting,
        )

    def to_json(self) -> dict[str, Any]:
        """The documented JSON fields, plus `calls` for compound commands."""
        data: dict[str, Any] = {
            "text": self.text,
            "intent": self.intent,
            "slots": jsonable(self.slots),
            "actions": [a.to_json() for a in self.actions],
            "reply": self.reply,
            "handled_by": self.handled_by,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if len(self.calls) > 1:
            data["calls"] = [{"intent": c.intent, "slots": jsonable(c.slots)} for c in self.calls]
        if self.awaiting_confirmation:
            data["awaiting_confirmation"] = True
        return data


def jsonable(slots: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in slots.items():
        if isinstance(value, float) and value.is_integer():
            out[key] = int(value)
        elif isinstance(value, str | int | float | bool) or value is None:
            out[key] = value
        elif isinstance(value, list | tuple):
            out[key] = [v if isinstance(v, str | int | float | bool) else str(v) for v in value]
        else:
            out[key] = str(value)
    return out


@dataclass
class Step:
    call: IntentCall
    texts: Mapping[str, str] = field(default_factory=dict)
    response: str | None = None


@dataclass
class Dispatched:
    actions: list[Action] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    awaiting: bool = False


_ARTICLES = frozenset({"the", "a", "an", "my", "all", "of"})


def verb_prefix(text: str, match: TemplateMatch) -> str:
    """The words before the first named thing: "turn off" in "turn off the lamp"."""
    lowered = text.casefold()
    starts = [
        lowered.find(t.casefold())
        for k, t in match.texts.items()
        if k in ("name", "area", "floor", "domain", "device_class") and t
    ]
    starts = [i for i in starts if i > 0]
    if not starts:
        return ""
    words = text[: min(starts)].split()
    while words and words[-1].casefold() in _ARTICLES:
        words.pop()
    return " ".join(words)


def verb_suffix(text: str, match: TemplateMatch) -> str:
    """The words after the last named thing: "off" in "the fan off"."""
    lowered = text.casefold()
    ends = [
        lowered.find(t.casefold()) + len(t)
        for k, t in match.texts.items()
        if k in ("name", "area", "floor", "domain", "device_class")
        and t
        and t.casefold() in lowered
    ]
    return " ".join(text[max(ends) :].split()) if ends else ""


def step_of(match: TemplateMatch) -> Step:
    return Step(IntentCall(match.intent, dict(match.slots)), dict(match.texts), match.response)


def join_replies(replies: Sequence[str]) -> str:
    parts = [r.strip() for r in replies if r and r.strip()]
    if len(parts) < 2:
        return parts[0] if parts else ""
    return " ".join(p if p[-1] in ".!?" else p + "." for p in parts)


_KINDS = {"light": "lights", "switch": "switches", "climate": "thermostats"}


def describe_call(call: IntentCall) -> str:
    """An intent call in words, for "Did you mean ...?".

    "turn off Back Door", "turn on the lights in the Bedroom", "light set
    Floor Lamp, brightness 30".
    """
    verb = re.sub(r"(?<!^)(?=[A-Z])", " ", call.intent.removeprefix("Hass")).lower()
    slots = dict(call.slots)
    target = [str(slots.pop("name"))] if "name" in slots else []
    if "domain" in slots:
        domain = str(slots.pop("domain"))
        target.append("the " + _KINDS.get(domain, domain.replace("_", " ") + "s"))
    if "area" in slots:
        target.append(f"in the {slots.pop('area')}" if target else str(slots.pop("area")))
    if "floor" in slots:
        floor = str(slots.pop("floor"))
        where = f"on the {floor}" if "floor" in floor.lower() else floor  # "Upstairs"
        target.append(where if target else floor)
    parts = [" ".join(target)] if target else []
    parts += [f"{key.replace('_', ' ')} {value}" for key, value in slots.items()]
    return " ".join([verb, ", ".join(parts)]).strip()
