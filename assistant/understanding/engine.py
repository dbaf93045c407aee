"""Utterance -> result: templates first, the LLM as fallback, then the handlers.

``Understanding.process(text, conversation)`` is what `assistant ask` and the
voice pipeline call.  It owns the template matcher (slot lists follow the
registry), the timers, and the confirmation of sensitive actions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from assistant.devices.entities import Entity, Executor
from assistant.devices.registry import Registry
from assistant.understanding.calls import IntentCall, IntentSchema, Vocabulary
from assistant.understanding.conversation import (
    Announce,
    Conversation,
    PendingConfirmation,
    is_no,
    is_yes,
)
from assistant.understanding.handlers import (
    HANDLERS,
    HandlerRegistry,
    IntentContext,
    IntentError,
    NeedsConfirmation,
)
from assistant.understanding.lists import vocabulary
from assistant.understanding.matcher import TemplateMatch, TemplateMatcher
from assistant.understanding.origin import CLI, Origin
from assistant.understanding.outcome import (
    Dispatched,
    Outcome,
    Step,
    join_replies,
    step_of,
    verb_prefix,
)
from assistant.understanding.phrases import PhraseList
from assistant.understanding.responses import TemplateState, render, render_error
from assistant.understanding.sentences import TemplateSet
from assistant.understanding.timers import Timer, TimerManager
from assistant.understanding.validate import InvalidCall, validate_call

__all__ = ["Fallback", "Outcome", "Understanding"]

log = logging.getLogger(__name__)

CONFIRM_PROMPT = "Are you sure?"
WARM_UP_DELAY = 2.0  # s of quiet in the registry before the LLM prompt is prepared again
CANCELLED = "Okay, cancelled."
TOO_LATE = "Too late, I cancelled that."
OUT_OF_DOMAIN = "Sorry, I can't help with that."
_SPLIT = re.compile(r"\s*(?:,\s*and\s+|\s+and then\s+|\s+and\s+|\s*,\s*then\s+|\s+then\s+)", re.I)


class Fallback(Protocol):
    """The LLM fallback (assistant.understanding.llm.LlmFallback)."""

    def parse(
        self, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
    ) -> list[IntentCall] | None:
        """Intent calls for `text`, [] for "none", None on failure or timeout."""
        ...


class Understanding:
    """Templates + handlers (+ optional LLM) over a live registry and an executor."""

    def __init__(
        self,
        registry: Registry,
        executor: Executor,
        templates: TemplateSet,
        *,
        handlers: HandlerRegistry = HANDLERS,
        llm_mode: str = "off",
        fallback: Fallback | None = None,
        area: str | None = None,
        confirm_seconds: float = 10.0,
        entity_confirm_seconds: Mapping[str, float] | None = None,
        entity_sensitive: Mapping[str, bool] | None = None,
        announce: Announce | None = None,
        now: Callable[[], dt.datetime] | None = None,
        confirm_llm: bool = False,
    ) -> None:
        self.registry = registry
        self.executor = executor
        self.templates = templates
        self.handlers = handlers
        self.llm_mode = llm_mode if fallback is not None else "off"
        self.fallback = fallback
        self.area = area
        self.confirm_seconds = confirm_seconds
        self.entity_confirm_seconds = dict(entity_confirm_seconds or {})
        self.entity_sensitive = dict(entity_sensitive or {})
        self.announce = announce
        self.confirm_llm = confirm_llm
        self.now = now or (lambda: dt.datetime.now().astimezone())
        self.matcher = TemplateMatcher(templates, registry)
        self.timers = TimerManager(on_finish=self._timer_done)
        self.conversation = Conversation()
        self.conversations: dict[str, Conversation] = {CLI.key: self.conversation}
        self._phrases: PhraseList | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._warm_timer: asyncio.TimerHandle | None = None
        self._unwatch: Callable[[], None] | None = None
        if self.llm_mode != "off" and hasattr(fallback, "warm"):
            # New names change the LLM's prompt: evaluate it again once the
            # home has been quiet a moment, not on the next spoken sentence.
            self._unwatch = registry.add_listener(lambda: self.start_warm_up(WARM_UP_DELAY))

    # --- policy ---------------------------------------------------------------
    def is_sensitive(self, entity: Entity, action: str) -> bool:
        """Unlocking, opening garage doors and gates, and entities marked sensitive."""
        override = self.entity_sensitive.get(entity.entity_id)
        if override is not None:
            return override and action not in ("lock", "close", "turn_off")
        if entity.domain == "lock" and action == "unlock":
            return True
        if (
            entity.domain == "cover"
            and action in ("open", "set_position")
            and (entity.device_class in ("garage", "gate"))
        ):
            return True
        return entity.sensitive and action not in ("lock", "close", "turn_off")

    def confirm_window(self, entity: Entity) -> float:
        """Seconds to answer "Are you sure?" for this entity."""
        return self.entity_confirm_seconds.get(entity.entity_id, self.confirm_seconds)

    def schemas(self) -> list[IntentSchema]:
        """Schemas of every intent with a handler."""
        return self.handlers.schemas()

    def vocabulary(self) -> Vocabulary:
        """The live names."""
        return vocabulary(self.registry)

    async def warm_up(self) -> None:
        """Have the LLM evaluate its prompt prefix now, not on the first utterance."""
        warm = getattr(self.fallback, "warm", None)
        if warm is not None and self.llm_mode != "off":
            schemas = self.handlers.schemas(llm_only=True)
            started = time.monotonic()
            try:
                await asyncio.to_thread(warm, schemas, self.vocabulary())
            except Exception as exc:  # noqa: BLE001 - the first sentence will pay instead
                log.warning("LLM prompt not prepared ahead: %s", exc)
                return
            log.info("LLM prompt ready (%.1f s)", time.monotonic() - started)

    async def warmed(self) -> None:
        """Return once no LLM warm-up is pending or running (wrap in a timeout)."""
        while True:
            running = {t for t in self._tasks if t.get_name() == "llm-warm-up"}
            if running:
                await asyncio.wait(running)
            elif self._warm_timer is not None:
                await asyncio.sleep(0.05)
            else:
                return

    def start_warm_up(self, delay: float = 0.0) -> None:
        """Warm the LLM in the background after `delay` s (a newer call restarts the wait)."""
        if self.llm_mode == "off":
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a one-shot command): the first sentence pays
        if self._warm_timer is not None:
            self._warm_timer.cancel()

        def start() -> None:
            self._warm_timer = None
            task = loop.create_task(self.warm_up(), name="llm-warm-up")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._warm_timer = loop.call_later(delay, start)

    def phrases(self, max_phrases: int = 20000) -> list[str]:
        """What the home understands, as phrases for closed-vocabulary STT (cached)."""
        if self._phrases is None:
            self._phrases = PhraseList(self.matcher, max_phrases=max_phrases)
        return self._phrases.phrases()

    def close(self) -> None:
        """Stop timers and listening to the registry."""
        self.timers.cancel_all()
        if self._warm_timer is not None:
            self._warm_timer.cancel()
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        for task in list(self._tasks):
            task.cancel()
        if self._phrases is not None:
            self._phrases.close()
        self.matcher.close()

    # --- the entry point ----------------------------------------------------
    async def process(
        self, text: str, conversation: Conversation | None = None, *, origin: Origin = CLI
    ) -> Outcome:
        """Understand `text` from `origin`, act on it, and say what happened.

        Each origin has its own conversation: a question asked on one channel
        is answered only on that channel.
        """
        conv = conversation or self.conversations.setdefault(
            origin.key, Conversation(announce=self.announce)
        )
        started = time.perf_counter()
        timings = {"understanding": 0.0, "llm": 0.0, "dispatch": 0.0}
        clean = " ".join(text.strip().split())
        conv.remember(clean)

        if conv.pending is not None:
            answer = await self._answer_pending(clean, conv, timings)
            if answer is not None:
                calls, done, by = answer
                return self._outcome(
                    text, calls=calls, done=done, handled_by=by, timings=timings, started=started
                )

        steps: list[Step] = []
        handled_by: str | None = None
        if self.llm_mode == "always":
            steps = await self._ask_llm(clean, timings)
            handled_by = "llm" if steps else None
        if not steps:
            t0 = time.perf_counter()
            steps = self._match_templates(clean)
            timings["understanding"] += _ms(t0)
            handled_by = "template" if steps else None
        if not steps and self.llm_mode == "fallback":
            steps = await self._ask_llm(clean, timings)
            handled_by = "llm" if steps else None
        if not steps:
            t0 = time.perf_counter()
            reply = self._explain_no_match(clean)
            timings["understanding"] += _ms(t0)
            return self._outcome(
                text,
                calls=[],
                done=Dispatched(replies=[reply]),
                handled_by=None,
                timings=timings,
                started=started,
            )

        t0 = time.perf_counter()
        done = await self._dispatch(steps, conv, handled_by)
        timings["dispatch"] = _ms(t0)
        return self._outcome(
            text,
            calls=[s.call for s in steps],
            done=done,
            handled_by=handled_by,
            timings=timings,
            started=started,
        )

    def _outcome(
        self,
        text: str,
        *,
        calls: Sequence[IntentCall],
        done: Dispatched,
        handled_by: str | None,
        timings: dict[str, float],
        started: float,
    ) -> Outcome:
        timings["total"] = _ms(started)
        first = calls[0] if calls else None
        return Outcome(
            text=text,
            intent=first.intent if first else None,
            slots=dict(first.slots) if first else {},
            actions=tuple(done.actions),
            reply=join_replies(done.replies),
            handled_by=handled_by,
            timings_ms=dict(timings),
            calls=tuple(calls),
            awaiting_confirmation=done.awaiting,
        )

    # --- understanding ------------------------------------------------------
    def _match_templates(self, text: str) -> list[Step]:
        match = self.matcher.match(text, self.area)
        if match is not None:
            return [step_of(match)]
        parts = [p for p in _SPLIT.split(text) if p.strip()]
        if len(parts) < 2:
            return []
        first = self.matcher.match(parts[0], self.area)
        if first is None:
            return []
        steps = [step_of(first)]
        verb = verb_prefix(parts[0], first)
        # "...the kitchen light and the fan" means the kitchen's fan: the first
        # part's room is the context of the rest.
        area = self._area_of(first) or self.area
        for part in parts[1:]:
            # "turn off the kitchen light and the fan": the fan is turned off too,
            # so the first command's verb is tried before the part on its own.
            found = self.matcher.match(f"{verb} {part}", area) if verb else None
            found = found or self.matcher.match(part, area)
            if found is None:
                return []
            steps.append(step_of(found))
        return steps

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

    async def _ask_llm(self, text: str, timings: dict[str, float]) -> list[Step]:
        if self.fallback is None:
            return []
        t0 = time.perf_counter()
        schemas = self.handlers.schemas(llm_only=True)
        words = self.vocabulary()
        try:
            calls = await asyncio.to_thread(self.fallback.parse, text, schemas, words)
        finally:
            timings["llm"] += _ms(t0)
        if not calls:
            return []
        by_name = {s.name: s for s in schemas}
        steps: list[Step] = []
        for call in calls:
            try:
                steps.append(Step(validate_call(call, by_name, words)))
            except InvalidCall as exc:
                log.info("LLM call refused: %s", exc)
                return []
        return steps

    def _explain_no_match(self, text: str) -> str:
        unknown = self.matcher.unknown_name(text, self.area)
        errors = self.templates.errors
        if unknown is not None:
            key = {"name": "no_entity", "area": "no_area", "floor": "no_floor"}[unknown.slot]
            values = {"entity": unknown.text, "area": unknown.text, "floor": unknown.text}
            template = errors.get(key)
            if template:
                return render_error(template, **values)
            return f"Sorry, I am not aware of any device called {unknown.text}"
        return OUT_OF_DOMAIN

    # --- confirmation -------------------------------------------------------
    async def _answer_pending(
        self, text: str, conv: Conversation, timings: dict[str, float]
    ) -> tuple[list[IntentCall], Dispatched, str | None] | None:
        yes, no = is_yes(text), is_no(text)
        pending, in_time = conv.take_pending()
        if pending is None or not (yes or no):
            return None  # anything else cancels the question and is heard as new
        if not in_time:
            return [pending.call], Dispatched(replies=[TOO_LATE]), pending.handled_by
        if no:
            return [pending.call], Dispatched(replies=[CANCELLED]), pending.handled_by
        t0 = time.perf_counter()
        step = Step(pending.call, pending.texts, pending.response)
        done = await self._dispatch([step], conv, pending.handled_by, confirmed=True)
        timings["dispatch"] = _ms(t0)
        return [pending.call], done, pending.handled_by

    def _expire_later(
        self, conv: Conversation, pending: PendingConfirmation, seconds: float
    ) -> None:
        async def expire() -> None:
            await asyncio.sleep(seconds)
            if conv.pending is pending:
                conv.pending = None
                speak = conv.announce or self.announce
                if speak is not None:
                    await speak(CANCELLED)

        # Keep a reference: the loop holds tasks only weakly.
        task = asyncio.get_running_loop().create_task(expire(), name="confirmation-timeout")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- dispatch -----------------------------------------------------------
    async def _dispatch(
        self,
        steps: Sequence[Step],
        conv: Conversation,
        handled_by: str | None,
        confirmed: bool = False,
    ) -> Dispatched:
        done = Dispatched()
        for step in steps:
            spec = self.handlers.get(step.call.intent)
            if spec is None:
                done.replies.append(OUT_OF_DOMAIN)
                continue
            ctx = IntentContext(
                intent=step.call.intent,
                slots=dict(step.call.slots),
                registry=self.registry,
                executor=self.executor,
                conversation=conv,
                schema=spec.schema,
                texts=dict(step.texts),
                area=self.area,
                timers=self.timers,
                confirmed=confirmed,
                sensitive=self.is_sensitive,
                confirm_seconds=self.confirm_window,
                now=self.now,
                response=step.response,
                error_templates=self.templates.errors,
            )
            try:
                llm_guess = handled_by == "llm" and self.confirm_llm
                if (spec.schema.sensitive or llm_guess) and not confirmed:
                    # Marked sensitive by its developer, or only the small model's
                    # reading of the sentence: ask before the handler runs.
                    raise NeedsConfirmation((), self.confirm_seconds)
                reply = await spec.func(ctx)
            except NeedsConfirmation as ask:
                pending = PendingConfirmation(
                    call=step.call,
                    texts=step.texts,
                    response=step.response,
                    deadline=time.monotonic() + ask.seconds,
                    handled_by=handled_by,
                    entity_ids=ask.entity_ids,
                )
                conv.pending = pending
                self._expire_later(conv, pending, ask.seconds)
                done.actions.extend(ctx.actions)
                done.replies.append(
                    f"Did you mean: {describe_call(step.call)}?"
                    if handled_by == "llm"
                    else CONFIRM_PROMPT
                )
                done.awaiting = True
                break
            except IntentError as exc:
                done.actions.extend(ctx.actions)
                done.replies.append(str(exc))
                continue
            done.actions.extend(ctx.actions)
            done.replies.append(reply if reply is not None else self._render(ctx, step))
        return done

    def _render(self, ctx: IntentContext, step: Step) -> str:
        responses = self.templates.responses.get(ctx.intent, {})
        key = ctx.response or step.response or "default"
        template = responses.get(key) or responses.get("default")
        if template is None:
            return "Done"
        slots: dict[str, Any] = {}
        for name, value in ctx.slots.items():
            slots[name] = step.texts.get(name) or value
        slots.update(ctx.speech_slots)
        matched = [TemplateState(e, self.registry.state(e.entity_id)) for e in ctx.matched]
        unmatched = [TemplateState(e, self.registry.state(e.entity_id)) for e in ctx.unmatched]
        return render(template, slots, matched, unmatched) or "Done"

    # --- timers -------------------------------------------------------------
    async def _timer_done(self, timer: Timer) -> None:
        if timer.command:
            outcome = await self.process(timer.command, Conversation(announce=self.announce))
            message = outcome.reply
        elif timer.name:
            message = f"The {timer.name} timer is done"
        else:
            message = "Your timer is done"
        if self.announce is not None:
            await self.announce(message)


def describe_call(call: IntentCall) -> str:
    """An intent call in words, for "Did you mean ...?" ("turn off Back Door")."""
    verb = re.sub(r"(?<!^)(?=[A-Z])", " ", call.intent.removeprefix("Hass")).lower()
    parts = [
        str(value) if key in ("name", "area", "floor") else f"{key.replace('_', ' ')} {value}"
        for key, value in call.slots.items()
    ]
    return " ".join([verb, ", ".join(parts)]).strip()


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0
