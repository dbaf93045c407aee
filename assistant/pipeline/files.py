"""The pipeline on recordings: each file is what the microphone would have heard.

Frames go through the same listener (wake word, end of speech) as live
audio, in a worker thread; the command then takes the same turn.  The
conversation carries over from one file to the next, so a file that answers
"Are you sure?" needs no wake word, exactly as when speaking.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from assistant.audio import SAMPLE_RATE
from assistant.audio.sources import WavSource
from assistant.audio.wav import write_wav
from assistant.pipeline.listener import CommandReady, Listener, NothingSaid, WakeHeard
from assistant.pipeline.messages import TIMING_DECIMALS, TurnResult, Utterance
from assistant.pipeline.turn import TurnRunner
from assistant.timing import elapsed_ms


@dataclass(frozen=True)
class FileOutcome:
    """What one recording led to."""

    path: Path
    woke: bool
    result: TurnResult | None
    reply_wav: Path | None = None
    listen_ms: float = 0.0

    def to_json(self) -> dict[str, object]:
        """One `listen --json` line."""
        if self.result is not None:
            data = self.result.to_json()
            timings = {k: round(v, TIMING_DECIMALS) for k, v in self.result.timings_ms.items()}
        else:
            data = {
                "transcript": "",
                "intent": None,
                "slots": {},
                "actions": [],
                "reply": "",
                "handled_by": None,
            }
            timings = {}
        timings["listen"] = round(self.listen_ms, TIMING_DECIMALS)
        data["timings_ms"] = timings
        return {
            "file": str(self.path),
            "woke": self.woke,
            **data,
            "reply_wav": str(self.reply_wav) if self.reply_wav else None,
        }


class FileListener:
    """Runs recordings through one listener and turn runner, keeping the conversation."""

    def __init__(self, listener: Listener, turns: TurnRunner, frame_samples: int = 480) -> None:
        self.listener = listener
        self.turns = turns
        self.frame_samples = frame_samples
        self.follow_up = False
        # One thread reads every file (wake word, VAD): the same thread each
        # time keeps glibc from growing a malloc arena per pool thread, so
        # memory stays flat over thousands of files.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="listen-files")

    def _utterance(self, path: Path) -> tuple[bool, Utterance | None]:
        """(heard the wake word or needed none, the command) from one file (blocking)."""
        listener = self.listener
        if self.follow_up:
            listener.expect_command("follow-up")
        else:
            listener.idle()
        woke = listener.mode == "command"
        for frame in WavSource(path, self.frame_samples).iter_frames():
            event = listener.process(frame, time.monotonic())
            if isinstance(event, WakeHeard):
                woke = True
            elif isinstance(event, CommandReady):
                return woke, event.utterance
            elif isinstance(event, NothingSaid):
                return woke, None
        event = listener.finish(time.monotonic())
        if isinstance(event, CommandReady):
            return woke, event.utterance
        return woke, None

    async def process(self, path: Path, reply_dir: Path | None = None) -> FileOutcome:
        """One file -> its outcome; UserError for an unreadable file."""
        start = time.monotonic()
        loop = asyncio.get_running_loop()
        woke, utterance = await loop.run_in_executor(self._thread, self._utterance, path)
        listen_ms = elapsed_ms(start, utterance.end_of_speech if utterance else None)
        if utterance is None:
            # Nothing to act on; a pending question keeps waiting for the next file.
            return FileOutcome(path, woke, None, listen_ms=listen_ms)
        result = await self.turns.from_audio(utterance, speak=reply_dir is not None)
        self.follow_up = result.awaiting_confirmation
        reply_wav = None
        if reply_dir is not None and result.reply_audio is not None:
            await loop.run_in_executor(self._thread, _make_dir, reply_dir)
            reply_wav = reply_dir / f"{path.stem}.reply.wav"
            await loop.run_in_executor(
                self._thread, write_wav, reply_wav, result.reply_audio, SAMPLE_RATE
            )
        return FileOutcome(path, woke, result, reply_wav, listen_ms)


def _make_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
