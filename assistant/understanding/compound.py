"""Two commands in one sentence: "turn off the kitchen light and the fan".

The words that join commands come from the language's response file
(`compound_connectors`); a language without any (Korean joins commands by
inflecting the verb) is never split, which is the safe default: a sentence
that is not split is matched whole or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.devices.registry import Registry
from assistant.understanding.matcher import TemplateMatch
from assistant.understanding.outcome import Step, step_of, verb_prefix, verb_suffix

__all__ = ["CompoundSplitter"]

Match = Callable[[str, "str | None"], "TemplateMatch | None"]


def _pattern(connectors: Sequence[str]) -> re.Pattern[str] | None:
    words = sorted({" ".join(c.split()) for c in connectors if c.strip()}, key=len, reverse=True)
    if not words:
        return None
    joined = "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
    # A connector after a space or a comma, followed by a space: "a, then b", "a and b".
    return re.compile(rf"(?:\s*,\s*|\s+)(?:{joined})\s+", re.IGNORECASE)


class CompoundSplitter:
    """Splits a sentence at its language's connectors and matches each part."""

    def __init__(self, connectors: Sequence[str], registry: Registry) -> None:
        self._pattern = _pattern(connectors)
        self.registry = registry

    def split(self, text: str) -> list[str]:
        """The parts of `text` (one part when it is not a compound)."""
        if self._pattern is None:
            return [text]
        return [p for p in self._pattern.split(text) if p.strip()]

    def steps(self, text: str, match: Match, area: str | None) -> list[Step]:
        """A step per part, or [] when any part does not match."""
        parts = self.split(text)
        if len(parts) < 2:
            return []
        first = match(parts[0], area)
        if first is None:
            return []
        verb = verb_prefix(parts[0], first)
        if not verb:
            parts, first = self._closing_word(parts, first, match, area)
        steps = [step_of(first)]
        # "...the kitchen light and the fan" means the kitchen's fan: the first
        # part's room is the context of the rest.
        area = self._area_of(first) or area
        for part in parts[1:]:
            # "turn off the kitchen light and the fan": the fan is turned off too,
            # so the first command's verb is tried before the part on its own.
            found = match(f"{verb} {part}", area) if verb else None
            found = found or match(part, area)
            if found is None:
                return []
            steps.append(step_of(found))
        return steps

    @staticmethod
    def _closing_word(
        parts: list[str], first: TemplateMatch, match: Match, area: str | None
    ) -> tuple[list[str], TemplateMatch]:
        """ "the lamp and the fan off": the last part's closing words are every part's.

        Alone, "the lamp" may match a command of its own (Home Assistant's
        templates turn a bare name on), the opposite of what was said.
        """
        last = match(parts[-1], area)
        suffix = verb_suffix(parts[-1], last) if last is not None else ""
        for words in dict.fromkeys((suffix, suffix.split()[0] if suffix else "")):
            if not words:
                continue
            closed = [f"{p} {words}" for p in parts[:-1]]
            found = match(closed[0], area)
            if found is not None and last is not None and found.intent == last.intent:
                return [*closed, parts[-1]], found
        return parts, first

    def _area_of(self, match: TemplateMatch) -> str | None:
        area = match.slots.get("area")
        if isinstance(area, str):
            return area
        name = match.slots.get("name")
        if not isinstance(name, str):
            return None
        wanted = name.casefold()
        areas = {
            e.area
            for e in self.registry.entities()
            if e.area and any(n.casefold() == wanted for n in (e.name, *e.aliases))
        }
        return areas.pop() if len(areas) == 1 else None
