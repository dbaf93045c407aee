"""The phrase list for closed-vocabulary recognition (Vosk grammar mode).

Sampled with hassil from the same templates and live names that the matcher
uses, so the recogniser hears exactly what the home understands.  Numbers are
spoken words on a coarse grid (every 10 % rather than every 1 %), and the
count is bounded per intent and overall so a large home stays decodable.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Iterator, Sequence

from hassil.expression import Alternative, Expression, Group, Sentence, TextChunk
from hassil.intents import IntentData, RangeSlotList, SlotList, TextSlotList, TextSlotValue
from hassil.numbers import get_rbnf_engine
from hassil.sample import sample_sentence
from hassil.util import check_excluded_context, check_required_context

from assistant.understanding.matcher import TemplateMatcher

# Letters of any script (Hangul, accented Latin...), apostrophes and spaces:
# digits and symbols ("50%") have no one spoken form for the recogniser.
_SPEAKABLE = re.compile(r"^(?:[^\W\d_]|[' ])+$")


def coarse_ranges(lists: dict[str, SlotList], step: int, language: str) -> dict[str, SlotList]:
    """Range lists as words only, every `step` units, without fractions.

    Written out as text lists in a fixed order: hassil itself yields a
    number's spoken forms from a set ("일" and "하나" in Korean), whose order
    changes with PYTHONHASHSEED, so the phrase list (and Vosk's grammar)
    would change from one start to the next.
    """
    try:
        engine = get_rbnf_engine(language)
    except ValueError:  # no number words for this language: hassil says so once
        engine = None
    out: dict[str, SlotList] = {}
    for name, slot_list in lists.items():
        if isinstance(slot_list, RangeSlotList):
            span = slot_list.stop - slot_list.start
            wide = max(slot_list.step, step if span > 4 * step else slot_list.step)
            if engine is None:
                out[name] = dataclasses.replace(
                    slot_list, step=wide, fraction_type=None, digits=False, words=True
                )
                continue
            values = [
                TextSlotValue(TextChunk(words), number)
                for number in range(slot_list.start, slot_list.stop + 1, wide)
                for words in sorted(set(engine.format_number(number).text_by_ruleset.values()))
            ]
            out[name] = TextSlotList(name=name, values=values)
    return out


def _speakable(text: str) -> str | None:
    phrase = " ".join(text.casefold().replace("-", " ").split())
    return phrase if phrase and _SPEAKABLE.match(phrase) else None


def _omitted(item: Expression) -> bool:
    return isinstance(item, TextChunk) and item.is_empty


def _optionals_first(expression: Expression) -> Expression:
    """The same template with every optional part's "left out" choice tried first."""
    if not isinstance(expression, Group):
        return expression
    items = [_optionals_first(item) for item in expression.items]
    if isinstance(expression, Alternative) and expression.is_optional:
        items.sort(key=lambda item: not _omitted(item))  # stable: the rest keep their order
    return dataclasses.replace(expression, items=items)


def _plain_sentence(sentence: Sentence) -> Sentence:
    return dataclasses.replace(sentence, expression=_optionals_first(sentence.expression))


def _samples(
    sentence: Sentence,
    lists: dict[str, SlotList],
    rules: tuple[dict[str, Sentence], dict[str, Sentence]],
    language: str,
    count: int,
) -> Iterator[str]:
    """The template's first `count` texts, then its first `count` with optional parts left out.

    hassil enumerates optional words present first, so the first texts are
    the longest ("turn on the ...", "모든 거실 조명 전원 켜줘"); the short forms
    people mostly say ("거실 조명 켜줘") come from the second, optionals-first order.
    """
    full, plain = rules
    yield from itertools.islice(sample_sentence(sentence, lists, full, language), count)
    yield from itertools.islice(
        sample_sentence(_plain_sentence(sentence), lists, plain, language), count
    )


def _empty(slot_list: SlotList | None) -> bool:
    return isinstance(slot_list, TextSlotList) and not slot_list.values


def _names_for(data: IntentData, live: dict[str, SlotList]) -> dict[str, SlotList]:
    """The name list limited to what this block accepts ("unlock" only locks)."""
    names = live.get("name")
    if not isinstance(names, TextSlotList) or not (data.requires_context or data.excludes_context):
        return {}
    kept = [
        v
        for v in names.values
        if check_required_context(data.requires_context, v.context or {}, allow_missing_keys=True)
        and (
            not data.excludes_context
            or check_excluded_context(data.excludes_context, v.context or {})
        )
    ]
    return {"name": TextSlotList(name="name", values=kept)}


def build_phrases(
    matcher: TemplateMatcher,
    *,
    max_phrases: int = 20000,
    per_template: int = 6,
    per_value: int = 2,
    range_step: int = 10,
    intents: Sequence[str] | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> list[str]:
    """Lower-case spoken phrases, unique, at most `max_phrases`.

    `checkpoint` is called between template blocks: background work waits there
    while an utterance is handled (assistant/cpu/foreground.py).

    Templates without a live name give `per_template` phrases each; templates
    naming a device, area or floor are sampled once per live value (at most
    `per_value` phrases), interleaved so every name is heard before any
    name's second form when the cap is reached.  Each count is taken twice:
    from the longest forms and from the shortest (see `_samples`).
    """
    templates = matcher.templates
    base = dict(templates.intents.slot_lists)
    base.update(coarse_ranges(base, range_step, templates.language))
    live = matcher.slot_lists
    lists: dict[str, SlotList] = {**base, **live}
    rules = templates.intents.expansion_rules
    plain_rules = {name: _plain_sentence(rule) for name, rule in rules.items()}
    language = templates.language
    wanted = set(intents) if intents else None
    fixed: dict[str, None] = {}
    by_value: dict[tuple[str, str], list[str]] = {}
    for intent in templates.intents.intents.values():
        if wanted is not None and intent.name not in wanted:
            continue
        for data in intent.data:
            if checkpoint is not None:
                checkpoint()
            own_rules = data.expansion_rules
            rule_sets = (
                {**rules, **own_rules},
                {**plain_rules, **{k: _plain_sentence(r) for k, r in own_rules.items()}},
            )
            local_lists = {**lists, **_names_for(data, live), **data.slot_lists}
            for sentence in data.sentences:
                names = set(sentence.list_names(rule_sets[0]))
                if names & data.wildcard_list_names:
                    continue
                if any(_empty(local_lists.get(n)) for n in names):
                    continue  # a home with no floors says no "... on the {floor}"
                used = [n for n in ("name", "area", "floor") if n in names and n in live]
                if not used:
                    for text in _samples(sentence, local_lists, rule_sets, language, per_template):
                        if (phrase := _speakable(text)) is not None:
                            fixed.setdefault(phrase, None)
                    continue
                list_name = used[0]
                live_list = local_lists[list_name]
                if not isinstance(live_list, TextSlotList):
                    continue
                for value in live_list.values:
                    one = {**local_lists, list_name: TextSlotList(name=list_name, values=[value])}
                    key = (list_name, str(value.value_out))
                    for text in _samples(sentence, one, rule_sets, language, per_value):
                        if (phrase := _speakable(text)) is not None:
                            by_value.setdefault(key, []).append(phrase)
    seen = dict(fixed)
    columns = list(by_value.values())
    depth = 0
    while len(seen) < max_phrases and any(depth < len(c) for c in columns):
        for column in columns:
            if depth < len(column):
                seen.setdefault(column[depth], None)
        depth += 1
    return list(seen)[:max_phrases]


class PhraseList:
    """Phrases kept current: rebuilt when the registry's names change."""

    def __init__(
        self,
        matcher: TemplateMatcher,
        on_change: Callable[[list[str]], None] | None = None,
        max_phrases: int = 20000,
    ) -> None:
        self.matcher = matcher
        self.on_change = on_change
        self.max_phrases = max_phrases
        self._phrases: list[str] | None = None
        self._unsubscribe = matcher.registry.add_listener(self._invalidate)

    def _invalidate(self) -> None:
        self._phrases = None
        if self.on_change is not None:
            self.on_change(self.phrases())

    def phrases(self) -> list[str]:
        """The current list (built on first use after a change)."""
        if self._phrases is None:
            self._phrases = build_phrases(self.matcher, max_phrases=self.max_phrases)
        return self._phrases

    def close(self) -> None:
        """Stop following the registry."""
        self._unsubscribe()
