"""The home's own words as a hint to an open-vocabulary recogniser (Whisper).

Whisper reads a "prompt" as the text said just before the utterance, so words
in it become more likely: the device names, aliases and areas of the home and
the verbs of the commands it understands.  On the espeak-ng set this fixes
names the model alone splits or misspells ("Closer to the garden, sprinkler",
"madroom", "blind" for "blinds"); see bench/stt.py for the measurements.

The prompt must stay short: Whisper keeps at most 223 tokens of it and every
token is decoded before the utterance is.  Names beyond the budget are left
out, whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from assistant.devices.registry import Registry


@dataclass(frozen=True)
class PromptStyle:
    """How one language's prompt reads: the command words, then each name."""

    lead: str
    """The command words, ending where the first name goes."""
    between: str
    end: str
    lowercase: bool = False
    """Names in lower case: Whisper copies a prompt's Title Case and then
    spells the words around the names oddly too ("Set the Thermostat to 19Brees")."""


STYLES: dict[str, PromptStyle] = {
    # A sentence, not a bare list: Whisper copies the prompt's style, and a
    # comma list made it answer in lists ("Close, set, garden, sprinkler").
    # The closing numbers: with names alone, "set the thermostat to 19 degrees"
    # (en-gb-x-rp) was heard as "... to empty debris".
    "en": PromptStyle(
        lead="Turn on, turn off, open, close, set, lock, unlock, start or press the ",
        between=", the ",
        end=". Set it to 21 degrees or 50%.",
        lowercase=True,
    ),
}
"""Per language; a language without a style gets its names separated by commas."""

PLAIN = PromptStyle(lead="", between=", ", end=".")

PROMPT_TOKENS = 215
"""Token budget of the bias prompt: Whisper keeps at most 223 (half its 448-token
context, less one); the example home's 44 names and areas take 196, and the
English numbers sentence 10 more."""


def home_words(registry: Registry) -> list[str]:
    """The names, aliases and areas of the home, each once (case-insensitive), in order."""
    words: list[str] = []
    for entity in registry.entities():
        words += [entity.name, *entity.aliases]
    words += registry.areas()
    return unique(words)


def unique(words: Iterable[str]) -> list[str]:
    """Non-blank words once each (compared lowercased), first spelling kept."""
    seen: set[str] = set()
    kept: list[str] = []
    for word in words:
        clean = " ".join(word.split())
        key = clean.lower()
        if clean and key not in seen:
            seen.add(key)
            kept.append(clean)
    return kept


def bias_prompt(
    names: Sequence[str],
    language: str | None,
    count_tokens: Callable[[str], int],
    budget: int = PROMPT_TOKENS,
) -> str | None:
    """The prompt for `names` in `language`'s style within `budget` tokens (None: no names).

    Names are added in order while the prompt fits; the rest are left out.
    """
    style = STYLES.get(language or "", PLAIN)
    kept: list[str] = []
    for name in unique(names):
        if count_tokens(_join(style, [*kept, name])) > budget:
            break
        kept.append(name)
    return _join(style, kept) if kept else None


def _join(style: PromptStyle, names: Sequence[str]) -> str:
    if style.lowercase:
        names = [name.lower() for name in names]
    return style.lead + style.between.join(names) + style.end
