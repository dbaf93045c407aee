"""Fixed replies and answer words, per language.

Home Assistant's own texts are used where it has one (``no_intent`` from
``home_assistant_intents``); the rest come from the project's response files
``assistant/data/responses/<language>.yaml``, with English filling any key a
language lacks.  So a Korean home is asked "정말 하시겠어요?" and can answer "네".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["Replies", "load_replies"]

log = logging.getLogger(__name__)

FALLBACK_LANGUAGE = "en"
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_KEYS = (
    "confirm",
    "did_you_mean",
    "cancelled",
    "too_late",
    "not_from_here",
    "done",
    "timer_done",
    "named_timer_done",
    "not_confirmed",
)


def _clean(text: str) -> str:
    """Casefolded words without punctuation ("Yes, please!" -> "yes please")."""
    return " ".join(re.sub(r"[^\w' ]", " ", text.casefold()).split())


@dataclass(frozen=True)
class Replies:
    """What the assistant says on its own, and the words that answer a question."""

    language: str
    texts: Mapping[str, str]
    yes: frozenset[str]
    no: frozenset[str]
    compound_connectors: tuple[str, ...]
    out_of_domain: str
    spoken_answers: tuple[str, ...] = ()
    """The few answers people actually say, to bias an open-vocabulary recogniser."""

    def say(self, key: str, **values: str) -> str:
        """The reply `key` with `{name}` fields filled in."""
        return self.texts[key].format(**values)

    def is_yes(self, text: str) -> bool:
        """A whole-sentence yes in this language."""
        return _clean(text) in self.yes

    def is_no(self, text: str) -> bool:
        """A whole-sentence no in this language."""
        return _clean(text) in self.no

    def answers(self) -> list[str]:
        """Every yes and no word (for a closed-vocabulary recogniser)."""
        return sorted(self.yes | self.no)


def _file(language: str) -> dict[str, Any]:
    if not _LANGUAGE.fullmatch(language):
        return {}  # not a language tag: never a path
    name = f"{language}.yaml"
    try:
        text = (resources.files("assistant") / "data" / "responses" / name).read_text("utf-8")
    except FileNotFoundError:
        return {}
    data = yaml.safe_load(text) or {}
    return data if isinstance(data, dict) else {}


def _ha_no_intent(language: str) -> str | None:
    from home_assistant_intents import get_intents

    data = get_intents(language) or {}
    text = data.get("responses", {}).get("errors", {}).get("no_intent")
    return text if isinstance(text, str) and text else None


def _words(data: Mapping[str, Any], key: str, fallback: Mapping[str, Any]) -> frozenset[str]:
    words = data.get(key) if data.get(key) is not None else fallback.get(key)
    return frozenset(_clean(str(w)) for w in words or () if _clean(str(w)))


@cache
def load_replies(language: str) -> Replies:
    """The replies for `language` ("ko", "ko-KR", "en"...), English where it has none."""
    base = _file(FALLBACK_LANGUAGE)
    own = _file(language) or _file(language.split("-", maxsplit=1)[0].split("_", maxsplit=1)[0])
    if not own and language != FALLBACK_LANGUAGE:
        log.info("no response file for language %r: replies are in English", language)
    texts = {**base.get("replies", {}), **(own.get("replies") or {})}
    missing = [key for key in _KEYS if key not in texts]
    if missing:  # a broken install, not a user's mistake
        raise RuntimeError(f"response files lack {', '.join(missing)}")
    connectors = own.get("compound_connectors", base.get("compound_connectors", ()))
    return Replies(
        language=language,
        texts=texts,
        yes=_words(own, "yes", base),
        no=_words(own, "no", base),
        compound_connectors=tuple(str(c) for c in connectors or ()),
        spoken_answers=tuple(
            str(a) for a in own.get("spoken_answers", base.get("spoken_answers", ())) or ()
        ),
        out_of_domain=_ha_no_intent(language)
        or _ha_no_intent(FALLBACK_LANGUAGE)
        or "Sorry, I couldn't understand that",
    )
