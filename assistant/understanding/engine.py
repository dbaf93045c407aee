"""Utterance -> result: templates first, the fallback (LLM) next, then the handlers.

``Understanding.process(text, origin=...)`` is what `assistant ask` and the
voice pipeline call.  This module is the chain of stages, the confirmation of
sensitive actions and the dispatch to handlers; the jobs around it live in
their own modules: policy.py (what is sensitive), warmup.py (preparing the
LLM), compound.py (two commands in one sentence), replies.py (fixed replies
per language), responses.py (rendering replies), phrases.py (the STT phrase list).

Each ``Origin`` has its own conversation: a question asked on one channel is
answered only on that channel, and an origin that may not ask for sensitive
actions is refused them outright.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from assistant.cpu.foreground import Foreground
from assistant.devices.entities import Entity, Executor
from assistant.devices.registry import Registry
from assistant.timing import elapsed_ms
from assistant.understanding.calls import IntentCall, IntentSchema, Vocabulary
from assistant.understanding.compound import CompoundSplitter
from assistant.understanding.conversation import Announce, Conversation, PendingConfirmation
from assistant.understanding.fallback import Fallback, ask_fallback
from assistant.understanding.gazetteer import GazetteerStage
from assistant.understanding.handlers import (
    HANDLERS,
    HandlerRegistry,
    IntentContext,
    IntentError,
    NeedsConfirmation,
)
from assistant.understanding.lists import vocabulary
from assistant.understanding.matcher import TemplateMatcher
from assistant.understanding.origin import CLI, REQUESTING, Origin
from assistant.understanding.outcome import (
    Dispatched,
    Outcome,
    Step,
    describe_call,
    step_of,
)
from assistant.understanding.phrases import PhraseList
from assistant.understanding.policy import SensitivityPolicy
from assistant.understanding.replies import Replies, load_replies
from assistant.understanding.responses import render_error, reply_for
from assistant.understanding.sentences import TemplateSet
from assistant.understanding.timers import Timer, TimerManager
from assistant.understanding.warmup import WarmUp

__all__ = ["Fallback", "Outcome", "Understanding"]

log = logging.getLogger(__name__)

Timings = dict[str, float]


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
        foreground: Foreground | None = None,
    ) -> None:
        self.registry = registry
        self.executor = executor
        self.templates = templates
        self.handlers = handlers
        self.fallback = fallback
        self.llm_mode = llm_mode if fallback is not None else "off"
        self.area = area
        self.policy = SensitivityPolicy(
            confirm_seconds, dict(entity_confirm_seconds or {}), dict(entity_sensitive or {})
        )
        self.announce = announce
        self.confirm_llm = confirm_llm
        self.now = now or (lambda: dt.datetime.now().astimezone())
        self.replies: Replies = load_replies(templates.language)
        self.matcher = TemplateMatcher(templates, registry)
        # Second stage: misheard names, follow-ups ("turn it off"), ambiguity questions.
        self.gazetteer = GazetteerStage(registry, language=templates.language, handlers=handlers)
        self.compound = CompoundSplitter(self.replies.compound_connectors, registry)
        self.timers = TimerManager(on_finish=self._timer_done)
        self.conversations: dict[str, Conversation] = {}
        self._phrases: PhraseList | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._warm: WarmUp | None = None
        self._unwatch: Callable[[], None] | None = None
        if fallback is not None and self.llm_mode != "off":
            self._warm = WarmUp(
                fallback, lambda: handlers.schemas(llm_only=True), self.vocabulary, foreground
            )
            # New names change the LLM's prompt: prepare it again once the home
            # has been quiet a moment, not on the next spoken sentence.
            self._unwatch = registry.add_listener(self._warm.later)

    # --- what the pipeline and the commands use ------------------------------
    def is_sensitive(self, entity: Entity, action: str) -> bool:
        """Does `action` on `entity` need a "yes" first (policy.py)?"""
        return self.policy.is_sensitive(entity, action)

    def confirm_window(self, entity: Entity) -> float:
        """Seconds to answer "Are you sure?" for this entity."""
        return self.policy.confirm_window(entity)

    def schemas(self) -> list[IntentSchema]:
        """Schemas of every intent with a handler."""
        return self.handlers.schemas()

    def vocabulary(self) -> Vocabulary:
        """The live names."""
        return vocabulary(self.registry)

    def conversation(self, origin: Origin) -> Conversation:
        """The conversation of one origin (created on first use)."""
        conv = self.conversations.get(origin.key)
        if conv is None:
            conv = self.conversations[origin.key] = Conversation(announce=self.announce)
        return conv

    def start_warm_up(self, delay: float = 0.0) -> None:
        """Prepare the LLM's prompt in the background after `delay` s (no-op without one)."""
        if self._warm is not None:
            self._warm.start(delay)

    async def warmed(self) -> None:
        """Return once no LLM warm-up is pending or running (wrap in a timeout)."""
        if self._warm is not None:
            await self._warm.done()

    def phrases(self, max_phrases: int = 20000) -> list[str]:
        """What the home understands, for closed-vocabulary STT: commands and yes/no words."""
        if self._phrases is None:
            self._phrases = PhraseList(self.matcher, max_phrases=max_phrases)
        return [*self._phrases.phrases(), *self.replies.answers()]

    def close(self) -> None:
        """Stop timers, warm-ups, pending questions and listening to the registry."""
        self.timers.cancel_all()
        if self._warm is not None:
            self._warm.close()
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        for task in list(self._tasks):
            task.cancel()
        if self._phrases is not None:
            self._phrases.close()
        self.matcher.close()
        self.gazetteer.close()

    # --- the chain of stages -------------------------------------------------
    async def process(self, text: str, *, origin: Origin = CLI) -> Outcome:
        """Understand `text` from `origin`, act on it, and say what happened."""
        token = REQUESTING.set(origin)
        try:
            return await self._process(text, origin)
        finally:
            REQUESTING.reset(token)

    async def _process(self, text: str, origin: Origin) -> Outcome:
        conv = self.conversation(origin)
        area = origin.area or self.area  # a satellite's room, else the assistant's
        started = time.monotonic()
        timings: Timings = {"understanding": 0.0, "llm": 0.0, "dispatch": 0.0}
        clean = " ".join(text.strip().split())
        conv.remember(clean)

        def outcome(calls: Sequence[IntentCall], done: Dispatched, by: str | None) -> Outcome:
            timings["total"] = elapsed_ms(started)
            return Outcome.of(text, calls, done, by, timings)

        if conv.pending is not None:
            answer = await self._answer_pending(clean, conv, origin, timings)
            if answer is not None:
                return outcome(*answer)

        steps: list[Step] = []
        handled_by: str | None = None
        if self.llm_mode == "always":
            steps = await self._ask_fallback(clean, timings)
            handled_by = "llm" if steps else None
        if not steps:
            t0 = time.monotonic()
            steps = self._match_templates(clean, area)
            timings["understanding"] += elapsed_ms(t0)
            handled_by = "template" if steps else None
        if not steps:
            t0 = time.monotonic()
            found = self.gazetteer.understand(clean, origin_key=origin.key, context_area=area)
            timings["understanding"] += elapsed_ms(t0)
            if found.refusal is not None:  # ambiguous or impossible: say so, never guess
                return outcome([], Dispatched(replies=[found.refusal]), "gazetteer")
            steps = [Step(c, {}, r) for c, r in zip(found.calls, found.responses, strict=True)]
            handled_by = "gazetteer" if steps else None
        if not steps and self.llm_mode == "fallback":
            steps = await self._ask_fallback(clean, timings)
            handled_by = "llm" if steps else None
        if not steps:
            t0 = time.monotonic()
            reply = self._explain_no_match(clean, area)
            timings["understanding"] += elapsed_ms(t0)
            return outcome([], Dispatched(replies=[reply]), None)

        if handled_by in ("template", "llm"):
            # "turn it off" after this command refers to the devices it named.
            self.gazetteer.note_targets(origin.key, [s.call for s in steps])
        t0 = time.monotonic()
        done = await self._dispatch(steps, conv, origin, handled_by)
        timings["dispatch"] = elapsed_ms(t0)
        return outcome([s.call for s in steps], done, handled_by)

    def _match_templates(self, text: str, area: str | None) -> list[Step]:
        match = self.matcher.match(text, area)
        if match is not None:
            return [step_of(match)]
        return self.compound.steps(text, self.matcher.match, area)

    async def _ask_fallback(self, text: str, timings: Timings) -> list[Step]:
        if self.fallback is None:
            return []
        t0 = time.monotonic()
        try:
            calls = await ask_fallback(
                self.fallback, text, self.handlers.schemas(llm_only=True), self.vocabulary()
            )
        finally:
            timings["llm"] += elapsed_ms(t0)
        return [Step(call) for call in calls]

    def _explain_no_match(self, text: str, area: str | None) -> str:
        if self.replies.is_yes(text) or self.replies.is_no(text):
            return self.replies.out_of_domain  # an answer with no question: not a name
        unknown = self.matcher.unknown_name(text, area)
        if unknown is not None:
            key = {"name": "no_entity", "area": "no_area", "floor": "no_floor"}[unknown.slot]
            template = self.templates.errors.get(key)
            if template:
                values = {"entity": unknown.text, "area": unknown.text, "floor": unknown.text}
                return render_error(template, **values)
        return self.replies.out_of_domain

    # --- confirmation ---------------------------------------------------------
    async def _answer_pending(
        self, text: str, conv: Conversation, origin: Origin, timings: Timings
    ) -> tuple[list[IntentCall], Dispatched, str | None] | None:
        yes, no = self.replies.is_yes(text), self.replies.is_no(text)
        pending, in_time = conv.take_pending()
        if pending is None or not (yes or no):
            return None  # anything else cancels the question and is heard as new
        calls, by = [pending.call], pending.handled_by
        if not in_time:
            return calls, Dispatched(replies=[self.replies.say("too_late")]), by
        if no:
            return calls, Dispatched(replies=[self.replies.say("cancelled")]), by
        t0 = time.monotonic()
        step = Step(pending.call, pending.texts, pending.response)
        done = await self._dispatch([step], conv, origin, by, confirmed=True)
        timings["dispatch"] = elapsed_ms(t0)
        return calls, done, by

    def _ask(self, conv: Conversation, step: Step, by: str | None, ask: NeedsConfirmation) -> str:
        """Leave the step waiting for a "yes" in this conversation; the question to say."""
        pending = PendingConfirmation(
            call=step.call,
            texts=step.texts,
            response=step.response,
            deadline=time.monotonic() + ask.seconds,
            handled_by=by,
            entity_ids=ask.entity_ids,
        )
        conv.pending = pending

        async def expire() -> None:
            await asyncio.sleep(ask.seconds)
            if conv.pending is pending:
                conv.pending = None
                speak = conv.announce or self.announce
                if speak is not None:
                    await speak(self.replies.say("cancelled"))

        # Keep a reference: the loop holds tasks only weakly.
        task = asyncio.get_running_loop().create_task(expire(), name="confirmation-timeout")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if by == "llm":
            return self.replies.say("did_you_mean", call=describe_call(step.call))
        return self.replies.say("confirm")

    # --- dispatch -------------------------------------------------------------
    async def _dispatch(
        self,
        steps: Sequence[Step],
        conv: Conversation,
        origin: Origin,
        handled_by: str | None,
        confirmed: bool = False,
    ) -> Dispatched:
        done = Dispatched()
        for step in steps:
            spec = self.handlers.get(step.call.intent)
            if spec is None:
                done.replies.append(self.replies.out_of_domain)
                continue
            ctx = IntentContext(
                intent=step.call.intent,
                slots=dict(step.call.slots),
                registry=self.registry,
                executor=self.executor,
                conversation=conv,
                schema=spec.schema,
                texts=dict(step.texts),
                area=origin.area or self.area,
                timers=self.timers,
                # A "yes" from an origin that may not ask for sensitive actions
                # (to an LLM guess) never stands in for their confirmation.
                confirmed=confirmed and origin.sensitive,
                sensitive=self.policy.is_sensitive,
                confirm_seconds=self.policy.confirm_window,
                now=self.now,
                response=step.response,
                error_templates=self.templates.errors,
            )
            sensitive_intent = spec.schema.sensitive and not ctx.confirmed
            guess = handled_by == "llm" and self.confirm_llm and not confirmed
            try:
                if sensitive_intent or guess:
                    # Marked sensitive by its developer, or only the small model's
                    # reading of the sentence: ask before the handler runs.
                    raise NeedsConfirmation((), self.policy.confirm_seconds)
                reply = await spec.func(ctx)
            except NeedsConfirmation as ask:
                done.actions.extend(ctx.actions)
                if not origin.sensitive and (sensitive_intent or not guess):
                    log.warning("refused %s from %s: sensitive", step.call.intent, origin.key)
                    done.replies.append(self.replies.say("not_from_here"))
                    break
                done.replies.append(self._ask(conv, step, handled_by, ask))
                done.awaiting = True
                break
            except IntentError as exc:
                done.actions.extend(ctx.actions)
                done.replies.append(str(exc))
                continue
            done.actions.extend(ctx.actions)
            silent = [self.registry.get(a.entity_id) for a in ctx.actions if a.confirmed is False]
            if silent:  # sent, but the device's state never confirmed it: never say "done"
                names = dict.fromkeys(e.name for e in silent if e is not None)
                reply = self.replies.say("not_confirmed", name=", ".join(names) or "device")
            done.replies.append(
                reply
                if reply is not None
                else reply_for(
                    ctx, step, self.templates.responses, self.registry, self.replies.say("done")
                )
            )
        return done

    # --- timers ---------------------------------------------------------------
    async def _timer_done(self, timer: Timer) -> None:
        if timer.command:
            # Its own origin, with no more authority than the one that set it:
            # its questions are not answered by (or from) anyone else.
            setter = timer.origin
            origin = Origin(
                f"timer:{timer.id}",
                sensitive=setter is not None and setter.sensitive,
                area=setter.area if setter is not None else None,
            )
            try:
                message = (await self.process(timer.command, origin=origin)).reply
            finally:
                self.conversations.pop(origin.key, None)
        elif timer.name:
            message = self.replies.say("named_timer_done", name=timer.name)
        else:
            message = self.replies.say("timer_done")
        # Said where it was set (a satellite's conversation speaks on that satellite).
        conv = self.conversations.get(timer.origin.key) if timer.origin is not None else None
        speak = conv.announce if conv is not None and conv.announce else self.announce
        if speak is not None:
            await speak(message)
