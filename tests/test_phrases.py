"""The phrase list for Vosk grammar mode, from the real Home Assistant sentences.

Korean phrases (Hangul) must be in it at all, and the short forms people say
("거실 조명 켜줘") next to the long ones hassil enumerates first
("모든 거실 조명 전원 켜줘").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from assistant.devices.entities import Entity
from assistant.devices.registry import Registry
from assistant.understanding.handlers import HANDLERS
from assistant.understanding.loader import discover
from assistant.understanding.matcher import TemplateMatcher
from assistant.understanding.phrases import build_phrases
from assistant.understanding.sentences import load_templates

ROOT = Path(__file__).resolve().parents[1]


def _phrases(language: str, entities: list[Entity]) -> list[str]:
    registry = Registry()
    registry.extend(entities)
    templates = load_templates(language, discover().yaml_files, keep_intents=HANDLERS.names())
    return build_phrases(TemplateMatcher(templates, registry))


def _entity(entity_id: str, name: str, area: str) -> Entity:
    return Entity(entity_id, name, entity_id.split(".", maxsplit=1)[0], "config", area=area)


def test_korean_phrases_are_listed_in_the_forms_people_say() -> None:
    phrases = _phrases(
        "ko",
        [
            _entity("light.kitchen_ceiling", "주방 천장", "주방"),
            _entity("light.living_room_ceiling", "거실 천장", "거실"),
            _entity("switch.coffee_machine", "커피 머신", "주방"),
            _entity("switch.monitor", "모니터", "서재"),
        ],
    )
    said = ["주방 조명 켜줘", "거실 조명 켜줘", "커피 머신 켜줘", "모니터 꺼", "주방 조명 종료"]
    assert [s for s in said if s not in phrases] == []
    # The long forms stay too.
    assert "모든 거실 조명 전원 켜줘" in phrases
    assert not any(ch.isdigit() or ch == "%" for p in phrases for ch in p)


def test_english_short_forms_join_the_long_ones() -> None:
    phrases = _phrases(
        "en",
        [
            _entity("cover.garage_door", "Garage Door", "Garage"),
            _entity("light.kitchen_ceiling", "Kitchen Ceiling", "Kitchen"),
        ],
    )
    assert "close the garage door" in phrases  # only reached with optional words left out
    assert "turn on the kitchen ceiling" in phrases
    assert all(p == p.lower() for p in phrases)


def test_the_phrase_list_is_the_same_at_every_start() -> None:
    # hassil yields a number's spoken forms from a set ("일" and "하나"), whose
    # order follows PYTHONHASHSEED: two processes must still build one list.
    script = (
        "from tests.test_phrases import _entity, _phrases\n"
        "print('\\n'.join(_phrases('ko', [_entity('light.a', '주방 천장', '주방')])))\n"
    )
    lists = [
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert lists[0]
    assert lists[0] == lists[1]
