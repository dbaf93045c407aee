"""Everything the assistant loads once and shares: engines, the broker
connection, the devices, understanding and the MQTT interface.

``Runtime`` is an async context manager used by `run`, `listen` and `demo`.
Each stage reports one line when it is ready (through `status`), so a user
sees what is loading and what is waited for; problems a user can fix
(missing model, no microphone) are ``UserError`` with one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Self

from assistant.config import Settings
from assistant.cpu.foreground import Foreground
from assistant.devices.backend import Devices, open_backend
from assistant.errors import UserError
from assistant.interface import ONLINE, Interface, Request
from assistant.pipeline.arbitration import WAKE_TOPIC, WakeArbiter
from assistant.pipeline.grammar_refresh import GrammarRefresh, PhraseSource
from assistant.pipeline.listener import Listener
from assistant.pipeline.parts import connect_interface, make_listener, make_tts, no_publish
from assistant.pipeline.turn import TurnRunner
from assistant.stt import PhraseBiased, PhraseRestrictable, SttEngine, TwoPassEngine
from assistant.transports.mqtt import MqttConnection, Retained
from assistant.understanding.origin import Origin

if TYPE_CHECKING:
    # Imported when loading (hassil, templates): not on `import runtime`.
    from assistant.understanding.engine import Fallback, Understanding
    from assistant.understanding.outcome import Outcome

log = logging.getLogger(__name__)

Status = Callable[[str], None]

BROKER_NOTICE_SECONDS = 3.0
"""Answers to "Are you sure?" the STT grammar must allow (English for now: they will
come from the language's response files)."""


@dataclass(frozen=True)
class RuntimeOptions:
    """What to load."""

    wake: bool = True
    speak: bool = True
    interface: bool = True
    stt: bool = True
    wait_for_broker: bool = True
    """Wait (saying so) for a broker that is down; False: fail with one line."""


@dataclass
class LoadTimes:
    """Seconds each stage took to become ready."""

    stages: dict[str, float] = field(default_factory=dict)


class Runtime:
    """The loaded assistant; `async with Runtime(settings) as rt:`."""

    def __init__(
        self,
        settings: Settings,
        options: RuntimeOptions | None = None,
        status: Status | None = None,
    ) -> None:
        self.settings = settings
        self.options = options or RuntimeOptions()
        self.status: Status = status or (lambda line: log.info("%s", line))
        self.times = LoadTimes()
        self.requests: asyncio.Queue[Request] = asyncio.Queue(16)
        self.connection: MqttConnection | None = None
        self.devices: Devices | None = None
        self.interface: Interface | None = None
        self.understanding: Understanding | None = None
        self.listener: Listener | None = None
        self.vad_engine = settings.vad.engine  # in use: WebRTC's when llama.cpp shares the process
        self.turns: TurnRunner | None = None
        self.grammar: GrammarRefresh | None = None
        self.arbiter: WakeArbiter | None = None  # [house]: wake arbitration (live pipeline)
        self.llm_loaded = False
        self.foreground = Foreground()
        """Held while an utterance is handled; background work waits (assistant/cpu)."""
        self._fallback: Fallback | None = None
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.grammar is not None:
            self.grammar.close()
        if self.arbiter is not None:
            self.arbiter.close()
        if self.understanding is not None:
            self.understanding.close()
        if self.turns is not None:
            self.turns.close()
        await self._stack.aclose()
        from assistant.understanding.fallback import LlmAdapter

        if isinstance(self._fallback, LlmAdapter):
            # Closed first, a warm-up still in flight ends instead of restarting the
            # worker that dies with the thread that started it (PR_SET_PDEATHSIG).
            self._fallback.close()
        self.foreground.close()

    def _ready(self, stage: str, started: float, detail: str) -> None:
        seconds = time.monotonic() - started
        self.times.stages[stage] = seconds
        self.status(f"{stage:<14} ready  {detail} ({seconds:.1f} s)")

    async def _start(self) -> None:
        settings = self.settings
        # The broker connection starts first: it comes up while models load.
        started = time.monotonic()
        if settings.mqtt.enabled:
            will = birth = None
            if self.options.interface and settings.site.mqtt_interface:
                # Availability rides on the one shared connection: "online" first
                # on every (re)connect, "offline" from the broker if we vanish.
                topic, offline = Interface(settings.site.id, no_publish).will()
                will, birth = Retained(topic, offline), Retained(topic, ONLINE)
            self.connection = await self._stack.enter_async_context(
                MqttConnection(
                    settings.mqtt, name=f"assistant-{settings.site.id}", will=will, birth=birth
                )
            )

        stt: SttEngine | None = None
        if self.options.stt:
            t0 = time.monotonic()
            from assistant.stt import create_engine

            stt = await asyncio.to_thread(create_engine, settings)
            self._ready("speech-to-text", t0, f"{stt.name} {stt.model_name}")

        await self._load_listener()

        tts = None
        if self.options.speak:
            t0 = time.monotonic()
            tts = await asyncio.to_thread(make_tts, settings)
            self._ready("text-to-speech", t0, "espeak-ng" if tts is not None else "off")

        if self.connection is not None:
            await self._wait_for_broker(started)

        t0 = time.monotonic()
        self.devices = await self._stack.enter_async_context(
            open_backend(settings, connection=self.connection)
        )
        self._ready("devices", t0, f"{len(self.devices.registry)} entities")

        t0 = time.monotonic()
        understanding = await asyncio.to_thread(self._build_understanding)
        # The gazetteer's matcher is built before the first sentence, not during it.
        await asyncio.to_thread(understanding.gazetteer.warm)
        self.understanding = understanding
        llm = settings.understanding.llm if self.llm_loaded else "off"
        self._ready("understanding", t0, f"templates + gazetteer + LLM {llm}")
        # The LLM's prompt prefix is evaluated in the background, not on the first sentence.
        understanding.start_warm_up()

        if self.options.interface and settings.site.mqtt_interface and self.connection:
            self._start_interface()
            if settings.site.ha_discovery:
                await self._publish_discovery()

        async def understand(text: str, origin: Origin) -> Outcome:
            return await understanding.process(text, origin=origin)

        self.turns = TurnRunner(stt, understand, tts)
        self.turns.foreground = self.foreground
        if stt is not None and self.listener is not None:
            # The command's audio goes to STT while it is spoken: at the end of
            # speech only the final decode is left (Vosk has done most of it).
            self.listener.feeder = self.turns.feeder()
        if isinstance(stt, PhraseRestrictable | PhraseBiased):
            self.grammar = await self.follow_home(stt, self.turns)

    async def _load_listener(self) -> None:
        """The LLM (if on), then wake word and VAD."""
        settings = self.settings
        # The LLM loads before the VAD: Silero VAD and llama.cpp each bundle a
        # libggml-base.so.0 and only one can be loaded in a process.  The
        # fallback runs llama.cpp in a worker process; should it ever load in
        # this one, the VAD falls back to WebRTC's (next best on our measurements).
        if settings.understanding.llm != "off":
            from assistant.understanding.factory import describe_fallback

            t0 = time.monotonic()
            self._fallback = await asyncio.to_thread(self._load_fallback)
            if self._fallback is not None:
                self._ready("llm", t0, describe_fallback(settings))
        vad = settings.vad.engine
        if vad == "silero" and "llama_cpp" in sys.modules:
            vad = "webrtc"
        t0 = time.monotonic()
        self.vad_engine = vad
        self.listener = await asyncio.to_thread(make_listener, settings, self.options.wake, vad)
        self.listener.foreground = self.foreground
        if vad != settings.vad.engine:
            self._ready("vad", t0, f"{vad} (Silero cannot share a process with llama.cpp)")
        else:
            self._ready("vad", t0, vad)
        wake = self.listener.wake
        self._ready(
            "wake word",
            t0,
            f"{settings.wake.model}" if wake is not None else "off (every utterance is a command)",
        )

    def phrase_source(self, stt: PhraseRestrictable | PhraseBiased) -> PhraseSource | None:
        """What `stt` should know of the home, or None (Vosk with `[stt] grammar` off).

        Vosk's grammar (two passes: always): the phrases the home understands and the
        answers.  Whisper's bias: the names and areas, and the answers ("no" was "Hello")."""
        understanding = self.understanding
        assert understanding is not None
        assert self.devices is not None
        registry = self.devices.registry
        if isinstance(stt, PhraseRestrictable):
            if not (self.settings.stt.grammar or isinstance(stt, TwoPassEngine)):
                return None
            from assistant.understanding.phrases import build_phrases

            matcher = understanding.matcher
            checkpoint = self.foreground.checkpoint
            return lambda: [
                *build_phrases(matcher, checkpoint=checkpoint),
                *understanding.replies.answers(),
            ]
        from assistant.stt.bias import home_words

        return lambda: [*home_words(registry), *understanding.replies.spoken_answers]

    async def follow_home(
        self, stt: PhraseRestrictable | PhraseBiased, turns: TurnRunner
    ) -> GrammarRefresh | None:
        """Keep `turns`' engine told of the home as devices change (grammar or bias).

        The caller closes the refresh returned (None: nothing to follow).
        """
        assert self.devices is not None
        source = self.phrase_source(stt)
        if source is None:
            return None
        names = self.phrase_source(stt.open) if isinstance(stt, TwoPassEngine) else None
        # Two passes: Whisper's names too.  Built as background work (assistant/cpu).
        grammar = GrammarRefresh(stt, source, names=names, foreground=self.foreground)
        count = await grammar.start(self.devices.registry)
        turns.grammar = grammar
        await turns.apply_grammar()
        if isinstance(stt, PhraseRestrictable):
            self.status(f"{'grammar':<14} on     {count} phrases")
        else:
            self.status(f"{'stt bias':<14} on     {count} words")
        return grammar

    def _load_fallback(self) -> Fallback | None:
        """The LLM fallback, or None with one status line saying why not."""
        from assistant.understanding.factory import make_fallback

        try:
            return make_fallback(self.settings, self.foreground)
        except UserError as exc:
            # A missing GGUF model is not fatal: templates still work.
            self.status(f"{'llm':<14} off    {exc}")
        except (RuntimeError, OSError, ImportError) as exc:
            self.status(f"{'llm':<14} off    llama.cpp cannot be loaded ({exc})")
        return None

    def _build_understanding(self) -> Understanding:
        from assistant.understanding.factory import build

        assert self.devices is not None
        fallback = self._fallback
        self.llm_loaded = fallback is not None
        understanding, _ = build(
            self.settings,
            self.devices.registry,
            self.devices.executor,
            fallback=fallback,
            announce=self._announce,
            foreground=self.foreground,
        )
        return understanding

    async def _announce(self, text: str) -> None:
        # Timers and the like speak out of turn: queue it like an MQTT `say`.
        from assistant.interface import Say

        with contextlib.suppress(asyncio.QueueFull):
            self.requests.put_nowait(Say(text))

    async def _wait_for_broker(self, started: float) -> None:
        assert self.connection is not None
        where = f"{self.settings.mqtt.host}:{self.settings.mqtt.port}"
        if not self.options.wait_for_broker:
            await self.connection.connect_or_raise(timeout=BROKER_NOTICE_SECONDS)
        else:
            try:
                async with asyncio.timeout(BROKER_NOTICE_SECONDS):
                    await self.connection.wait_connected()
            except TimeoutError:
                reason = self.connection.last_error or "no answer"
                self.status(f"{'mqtt':<14} waiting for the broker at {where} ({reason}) ...")
                await self.connection.wait_connected()
        self._ready("mqtt", started, f"connected to {where}")

    def _start_interface(self) -> None:
        assert self.connection is not None
        interface = connect_interface(self.settings, self.connection, self.requests)
        self.interface = interface
        self.status(f"{'interface':<14} ready  {interface.topics.base}/...")
        house = self.settings.house
        if house.enabled and self.listener is not None and self.listener.wake is not None:
            connection = self.connection

            async def claim(topic: str, payload: str) -> None:
                await connection.publish(topic, payload, qos=1, ttl=house.arbitration_seconds)

            self.arbiter = WakeArbiter(interface.topics.site, house.arbitration_seconds, claim)
            connection.subscribe(WAKE_TOPIC, self.arbiter.on_message)
            self.status(f"{'house':<14} ready  wake word arbitration with the other gateways")

    async def _publish_discovery(self) -> None:
        """The retained Home Assistant device config (`[site] ha_discovery`)."""
        from assistant.integrations.ha_device import discovery_message

        assert self.connection is not None
        assert self.interface is not None
        topic, payload = discovery_message(self.interface.topics, self.settings.discovery.prefix)
        try:
            await self.connection.publish(topic, payload, qos=1, retain=True, ttl=5.0)
        except (UserError, OSError) as exc:
            self.status(f"{'home assistant':<14} not announced: {exc}")
            return
        self.status(f"{'home assistant':<14} ready  {topic}")
