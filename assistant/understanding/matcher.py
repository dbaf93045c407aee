"""Template matching: text -> intent and slots, with hassil.

Pure functions over a compiled ``TemplateSet`` and slot lists; the
``TemplateMatcher`` only caches the slot lists and rebuilds them when the
registry says the set of entities changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hassil.intents import SlotList
from hassil.models import UnmatchedTextEntity
from hassil.recognize import MISSING_ENTITY, RecognizeResult, recognize_all, recognize_best

from assistant.devices.registry import Registry
from assistant.understanding.lists import build_slot_lists
from assistant.understanding.sentences import CUSTOM_KEY, TemplateSet

# Intents whose sentences name a device to act on: only these may report
# "no device called X" (a question like "what is the capital of France"
# also matches "what is {name}", but it is not about a device).
ACTION_INTENTS = frozenset(
    {
        "HassTurnOn",
        "HassTurnOff",
        "HassLightSet",
        "HassSetPosition",
        "HassFanSetSpeed",
        "HassClimateSetTemperature",
        "HassVacuumStart",
        "HassVacuumReturnToBase",
    }
)


_FILLER = frozenset({"the", "a", "an", "my", "all", "of", "in", "on", "to", "it", "this", "that"})


# Words that make a phrase a clause, not a device name ("it's too dark").
_NOT_IN_NAMES = frozenset(
    {
        "i", "i'm", "im", "it's", "its", "is", "are", "was", "you", "me", "we", "want",
        "need", "too", "very", "what", "why", "how", "who", "can", "could", "would",
        "should", "please", "so", "really", "bit", "little",
    }
)  # fmt: skip


@dataclass(frozen=True)
class TemplateMatch:
    """What the templates understood in one sentence."""

    intent: str
    slots: Mapping[str, Any]
    texts: Mapping[str, str] = field(default_factory=dict)
    response: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UnknownName:
    """A command that matched a template except for a name no device has."""

    intent: str
    slot: str  # name | area | floor
    text: str


def _to_match(result: RecognizeResult) -> TemplateMatch:
    slots: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for entity in result.entities_list:
        slots[entity.name] = entity.value
        texts[entity.name] = entity.text_clean if isinstance(entity.text, str) else ""
    return TemplateMatch(
        intent=result.intent.name,
        slots=slots,
        texts=texts,
        response=result.response,
        metadata=dict(result.intent_metadata or {}),
    )


def intent_context(area: str | None) -> dict[str, Any]:
    """The satellite's own area, for "turn on the lights in here"."""
    if not area:
        return {}
    return {"area": {"value": area, "text": area}}


def match_text(
    text: str,
    templates: TemplateSet,
    slot_lists: dict[str, SlotList],
    area: str | None = None,
) -> TemplateMatch | None:
    """The best template match for `text`, or None.

    Like Home Assistant: custom sentences first, then results that name an
    entity, then the one that matches the most literal text.
    """
    result = recognize_best(
        text,
        templates.intents,
        slot_lists=slot_lists,
        intent_context=intent_context(area),
        language=templates.language,
        best_metadata_key=CUSTOM_KEY,
        best_slot_name="name",
    )
    if result is None:
        return None
    return _to_match(result)


def find_unknown_name(
    text: str,
    templates: TemplateSet,
    slot_lists: dict[str, SlotList],
    area: str | None = None,
) -> UnknownName | None:
    """For a sentence no template matched: the device/area name it asked for, if any.

    Runs hassil again allowing unmatched entities (slower, only on failure),
    and keeps results where everything but a name, area or floor matched.
    """
    best: UnknownName | None = None
    best_score: tuple[int, int] = (-1, -1)
    for result in recognize_all(
        text,
        templates.intents,
        slot_lists=slot_lists,
        intent_context=intent_context(area),
        language=templates.language,
        allow_unmatched_entities=True,
    ):
        if result.intent.name not in ACTION_INTENTS and not (result.intent_metadata or {}).get(
            CUSTOM_KEY
        ):
            continue
        # Context the missing name would have brought (its domain) shows up
        # as a <missing> entity: not a second unknown word.
        unmatched = [
            e
            for e in result.unmatched_entities_list
            if not (isinstance(e, UnmatchedTextEntity) and e.text == MISSING_ENTITY)
        ]
        if len(unmatched) != 1:
            continue
        entity = unmatched[0]
        if not isinstance(entity, UnmatchedTextEntity) or entity.name not in (
            "name",
            "area",
            "floor",
        ):
            continue
        name = entity.text.strip(" .,!?")
        if not name or name == MISSING_ENTITY:
            continue
        words_in = set(name.casefold().split())
        if len(name.split()) > 4 or words_in <= _FILLER or words_in & _NOT_IN_NAMES:
            continue
        # A device name is the likelier mistake than an area or a floor.
        words = name.split()
        while len(words) > 1 and words[0].casefold() in _FILLER:
            words.pop(0)
        name = " ".join(words)
        score = (2 if entity.name == "name" else 1 if entity.name == "area" else 0, len(name))
        if score > best_score:
            best_score = score
            best = UnknownName(result.intent.name, entity.name, name)
    return best


def warm(templates: TemplateSet) -> None:
    """Parse every sentence now, so the first utterance is as fast as the rest."""
    for intent in templates.intents.intents.values():
        for data in intent.data:
            _ = data.sentences


class TemplateMatcher:
    """Templates plus slot lists kept in step with the registry."""

    def __init__(self, templates: TemplateSet, registry: Registry) -> None:
        self.templates = templates
        self.registry = registry
        self._lists: dict[str, SlotList] | None = None
        self._unsubscribe = registry.add_listener(self._invalidate)
        warm(templates)

    def _invalidate(self) -> None:
        self._lists = None

    def close(self) -> None:
        """Stop listening to the registry."""
        self._unsubscribe()

    @property
    def slot_lists(self) -> dict[str, SlotList]:
        """Current name/area/floor lists, rebuilt lazily after a change."""
        if self._lists is None:
            self._lists = build_slot_lists(self.registry)
        return self._lists

    def match(self, text: str, area: str | None = None) -> TemplateMatch | None:
        """The best match for `text` with the live names."""
        return match_text(text, self.templates, self.slot_lists, area)

    def unknown_name(self, text: str, area: str | None = None) -> UnknownName | None:
        """The name a failed command asked for, if it looks like one."""
        return find_unknown_name(text, self.templates, self.slot_lists, area)
