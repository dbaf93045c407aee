"""Which gateway answers a wake word that several of them heard.

With ``[house] enabled`` every gateway publishes a claim on
``assistant/house/wake`` when it hears the wake word: its site, the wake
word's score (the detector's probability) and loudness (RMS dBFS of the
last second of audio, which holds the wake word), and the wall-clock time.
It then collects the other gateways' claims for ``[house]
arbitration_seconds`` and answers only if none is stronger; the others stop
the turn without a sound.

Claims are matched by when this gateway received them (within the window
before or after its own detection), never by their ``time``: gateways'
clocks need not agree.  Strength is loudness plus ``SCORE_DB`` per unit of
score, since the nearest gateway hears the speaker loudest but a muffled
microphone can still be the one the model is surest about; equal strengths
go to the smaller site id, so exactly one gateway answers.  Site ids must
differ: a claim carrying our own site is our own, echoed by the broker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.audio import SAMPLE_RATE, Samples
from assistant.interface import HOUSE
from assistant.textsafe import clean
from assistant.transports.mqtt import Incoming

if TYPE_CHECKING:
    from assistant.wake import WakeDetector

log = logging.getLogger(__name__)

WAKE_TOPIC = f"{HOUSE.base}/wake"
SCORE_DB = 20.0
"""A claim's strength in dB per unit of wake word score: 0.1 more score weighs like 2 dB."""
HEARD_SECONDS = 1.0
"""Audio before the detection measured for loudness: "okay nabu" and the pause after it."""
SILENCE_DBFS = -120.0
MAX_CLAIMS = 64
"""Peer claims remembered; a flood pushes out the oldest, memory stays bounded."""

Publish = Callable[[str, str], Awaitable[object]]
"""publish(topic, payload): the shared MQTT connection's."""


class _ClaimIn(BaseModel):
    """A claim as it arrives from the broker (untrusted)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    site: str = Field(min_length=1, max_length=200)
    score: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    loudness: float = Field(ge=SILENCE_DBFS, le=0.0, allow_inf_nan=False)
    time: float = Field(allow_inf_nan=False)


@dataclass(frozen=True)
class WakeClaim:
    """One gateway's "I heard the wake word, this well"."""

    site: str
    score: float
    loudness: float
    """RMS dBFS of the wake word audio."""
    time: float
    """time.time() of the detection (for people reading the bus)."""

    @property
    def strength(self) -> float:
        """Loudness plus SCORE_DB per unit of score."""
        return self.loudness + SCORE_DB * self.score

    def beats(self, other: WakeClaim) -> bool:
        """True when this claim wins over `other` (ties: the smaller site id)."""
        if self.strength != other.strength:
            return self.strength > other.strength
        return self.site < other.site

    def to_json(self) -> str:
        """The payload on assistant/house/wake."""
        return json.dumps(
            {
                "site": self.site,
                "score": round(self.score, 4),
                "loudness": round(self.loudness, 2),
                "time": round(self.time, 3),
            }
        )


def parse_claim(payload: bytes) -> WakeClaim | str:
    """A claim, or one phrase saying why the payload is not one."""
    try:
        data = _ClaimIn.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        return f"{where}: {first['msg']}"
    # Rounded like our own claims, so both sides compare the same numbers.
    return WakeClaim(data.site, round(data.score, 4), round(data.loudness, 2), data.time)


def loudness_dbfs(samples: Samples) -> float:
    """RMS level of 16-bit audio in dBFS (SILENCE_DBFS for digital silence)."""
    if samples.size == 0:
        return SILENCE_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples.astype(np.float64)))))
    if rms <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, min(0.0, 20.0 * math.log10(rms / 32768.0)))


@dataclass(frozen=True)
class Decision:
    """The outcome of one arbitration."""

    claim: WakeClaim
    rivals: tuple[WakeClaim, ...]
    won: bool
    waited: float
    """Seconds from the detection to the decision (the delay added to the wake)."""


class WakeArbiter:
    """Publishes this gateway's claims and decides, from its peers', whether it answers."""

    def __init__(self, site: str, window: float, publish: Publish) -> None:
        self.site = site
        self.window = window
        self._publish = publish
        self._claims: deque[tuple[float, WakeClaim]] = deque(maxlen=MAX_CLAIMS)
        self._heard: deque[Samples] = deque()
        self._heard_samples = 0
        self._keep = int(HEARD_SECONDS * SAMPLE_RATE)
        self._sending: set[asyncio.Task[None]] = set()
        self._pending: asyncio.Task[bool] | None = None
        self.bad_claims = 0
        self.last: Decision | None = None

    def hear(self, frame: Samples) -> None:
        """Every frame the wake word detector hears (the last HEARD_SECONDS are kept)."""
        self._heard.append(frame)
        self._heard_samples += frame.size
        while self._heard_samples - self._heard[0].size >= self._keep:
            self._heard_samples -= self._heard.popleft().size

    def on_message(self, message: Incoming) -> None:
        """A message on WAKE_TOPIC: remember a peer's claim (a bad one is logged, once a while)."""
        claim = parse_claim(message.payload)
        if isinstance(claim, str):
            self.bad_claims += 1
            if self.bad_claims == 1 or self.bad_claims % 100 == 0:
                log.warning(
                    "ignoring a wake claim on %s (%d so far): %s",
                    WAKE_TOPIC,
                    self.bad_claims,
                    clean(claim, 120),
                )
            return
        if claim.site != self.site:
            self._claims.append((time.monotonic(), claim))

    async def contend(self, score: float) -> Decision:
        """Claim the wake word just heard; after the window, whether we answer it."""
        heard_at = time.monotonic()
        audio = np.concatenate(self._heard) if self._heard else np.zeros(0, np.int16)
        claim = WakeClaim(self.site, round(score, 4), round(loudness_dbfs(audio), 2), time.time())
        self._send(claim)
        await asyncio.sleep(self.window)
        rivals = tuple(c for at, c in self._claims if at >= heard_at - self.window)
        won = not any(rival.beats(claim) for rival in rivals)
        decision = Decision(claim, rivals, won, time.monotonic() - heard_at)
        self.last = decision
        if rivals:
            log.info(
                "wake word: %s (%.1f dB here; %s)",
                "answering" if won else "another gateway answers",
                claim.strength,
                ", ".join(f"{clean(r.site, 40)} {r.strength:.1f} dB" for r in rivals),
            )
        return decision

    def contend_later(self, detector: WakeDetector | None, then: Callable[[bool], None]) -> None:
        """Contend for the wake word `detector` just heard, in the background;
        `then(won)` applies the decision (answer it, or stand down in silence)."""
        score = detector.last_probability if detector is not None else 1.0

        async def contest() -> bool:
            won = (await self.contend(score)).won
            then(won)
            return won

        self.close()
        task = asyncio.get_running_loop().create_task(contest(), name="wake-arbitration")
        self._pending = task
        task.add_done_callback(self._contested)

    async def answering(self) -> bool:
        """False when the wake word of the command just cut goes to another gateway
        (waits for a decision still pending; True when there is none)."""
        pending = self._pending
        if pending is None or pending.done():
            return True  # decided: a lost wake word already stood the listener down
        await asyncio.wait({pending})
        return pending.cancelled() or pending.exception() is not None or pending.result()

    def close(self) -> None:
        """Drop a pending decision (the pipeline is stopping, or a new wake word)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _contested(self, task: asyncio.Task[bool]) -> None:
        if self._pending is task:
            self._pending = None
        if not task.cancelled() and task.exception() is not None:
            log.warning("wake word arbitration failed: %s", task.exception())

    def _send(self, claim: WakeClaim) -> None:
        # Not awaited: a broker that is away must not hold the wake; the
        # claim is then simply late or lost, and we answer alone.
        async def send() -> None:
            await self._publish(WAKE_TOPIC, claim.to_json())

        task = asyncio.get_running_loop().create_task(send(), name="wake-claim")
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not publish the wake claim: %s", task.exception())
