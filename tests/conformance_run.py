"""Run the HA intent cases through an Understanding and score them per intent."""

from __future__ import annotations

import collections
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.devices.entities import Action
from assistant.devices.registry import Registry
from assistant.understanding.engine import Outcome, Understanding
from assistant.understanding.origin import Origin
from assistant.understanding.targets import TargetError, match_targets, query_from_slots
from tests.conformance_home import ACTING, Case, timers_from_fixtures

# Sees what reached the devices for these actions: returns a problem or None.
DeliveryCheck = Callable[[Sequence[Action]], Awaitable[str | None]]


@dataclass
class Score:
    """Results per intent."""

    passed: collections.Counter[str] = field(default_factory=collections.Counter)
    total: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[tuple[Case, str]] = field(default_factory=list)

    def rate(self) -> float:
        """Overall pass rate."""
        return sum(self.passed.values()) / max(sum(self.total.values()), 1)

    def table(self) -> str:
        """One line per intent: passed/total and percent."""
        lines = [f"{'intent':32} {'pass':>5} {'total':>5} {'rate':>7}"]
        for intent in sorted(self.total):
            p, t = self.passed[intent], self.total[intent]
            lines.append(f"{intent:32} {p:5d} {t:5d} {100 * p / t:6.1f}%")
        p, t = sum(self.passed.values()), sum(self.total.values())
        lines.append(f"{'TOTAL':32} {p:5d} {t:5d} {100 * p / max(t, 1):6.1f}%")
        return "\n".join(lines)


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, list):
        wanted = {str(v).casefold() for v in expected}
        got = actual if isinstance(actual, list | tuple) else [actual]
        return wanted == {str(v).casefold() for v in got}
    if isinstance(expected, bool | int | float) and not isinstance(expected, bool):
        try:
            return float(actual) == float(expected)
        except (TypeError, ValueError):
            return False
    return str(expected).strip().casefold() == str(actual).strip().casefold()


def _fold(text: Any) -> str:
    return " ".join(str(text or "").casefold().split())


def check_targets(registry: Registry, case: Case, actions: Sequence[Action]) -> str | None:
    """Every entity acted on fits the expected slots (name, area, floor, domain, class)."""
    if not actions:
        return "no device command"
    for action in actions:
        entity = registry.get(action.entity_id)
        if entity is None:
            return f"acted on unknown {action.entity_id}"
        slots = case.slots
        names = {_fold(n) for n in (entity.name, *entity.aliases)}
        if "name" in slots and _fold(slots["name"]) not in names:
            return f"{entity.entity_id} is not named {slots['name']!r}"
        if "area" in slots and _fold(entity.area) != _fold(slots["area"]):
            return f"{entity.entity_id} is not in {slots['area']!r}"
        if "floor" in slots:
            floor = entity.floor or (registry.floor_of(entity.area) if entity.area else None)
            if _fold(floor) != _fold(slots["floor"]):
                return f"{entity.entity_id} is not on {slots['floor']!r}"
        domain = slots.get("domain")
        if isinstance(domain, str) and entity.domain != domain:
            return f"{entity.entity_id} is not a {domain}"
        device_class = slots.get("device_class")
        if isinstance(device_class, str) and entity.device_class != device_class:
            return f"{entity.entity_id} is not a {device_class}"
    return None


def _same_targets(understanding: Understanding, case: Case, actions: Sequence[Action]) -> bool:
    try:
        wanted = match_targets(understanding.registry, query_from_slots(dict(case.slots)))
    except TargetError:
        return False
    return bool(actions) and {e.entity_id for e in wanted} == {a.entity_id for a in actions}


def _reset_timers(understanding: Understanding) -> None:
    manager = understanding.timers
    manager.cancel_all()
    for spec in timers_from_fixtures():
        timer = manager.start(
            spec["seconds"], name=spec["name"], area=spec["area"], hms=spec["hms"]
        )
        if not spec["active"]:
            manager.pause(timer)


async def run_case(
    understanding: Understanding, case: Case, delivered: DeliveryCheck | None
) -> tuple[Outcome, str | None]:
    """One sentence; the problem found, or None when it passed."""
    if "Timer" in case.intent:
        _reset_timers(understanding)
    # A fresh origin per case: no question is left over from the case before.
    origin = Origin(f"conformance:{case.file}:{case.sentence}")
    outcome = await understanding.process(case.sentence, origin=origin)
    actions = list(outcome.actions)
    if outcome.awaiting_confirmation:
        confirmed = await understanding.process("yes", origin=origin)
        actions += confirmed.actions
    if outcome.intent != case.intent:
        return outcome, f"intent {outcome.intent} ({outcome.reply!r})"
    slot_problem = None
    for key, expected in case.slots.items():
        if key not in outcome.slots or not _same(expected, outcome.slots[key]):
            slot_problem = f"slot {key}={outcome.slots.get(key)!r}, expected {expected!r}"
            break
    if slot_problem and not (case.intent in ACTING and _same_targets(understanding, case, actions)):
        # Other slots are fine only when they name exactly the same devices
        # ("the kitchen fan" is a device's name here and also kitchen + fan).
        return outcome, slot_problem
    if case.intent in ACTING:
        problem = None if slot_problem else check_targets(understanding.registry, case, actions)
        if problem:
            return outcome, f"{problem} ({outcome.reply!r})"
        if delivered is not None:
            problem = await delivered(actions)
            if problem:
                return outcome, problem
    return outcome, None


async def run_suite(
    understanding: Understanding, cases: Sequence[Case], delivered: DeliveryCheck | None = None
) -> Score:
    """Questions first (commands change the states they ask about), then commands."""
    score = Score()
    ordered = sorted(cases, key=lambda c: c.intent in ACTING)
    for case in ordered:
        _outcome, problem = await run_case(understanding, case, delivered)
        score.total[case.intent] += 1
        if problem is None:
            score.passed[case.intent] += 1
        else:
            score.failures.append((case, problem))
    return score
