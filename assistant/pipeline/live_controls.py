"""The live pipeline's side of the interface's controls: mute switch, wake
word select and listen button, applied at once, even during a turn.

While muted the wake word is not listened for; the listen button still
starts a command (push to talk).
"""

from __future__ import annotations

import asyncio
import logging

from assistant.integrations.controls import Control, switched_wake_word
from assistant.interface import Interface, State
from assistant.pipeline.listener import Listener

log = logging.getLogger("assistant.pipeline.live")


class LiveControls:
    """Mixed into ``LivePipeline``: the attributes below are the pipeline's."""

    listener: Listener
    interface: Interface | None
    state: State
    muted: bool

    def _set_state(self, state: State) -> None:
        raise NotImplementedError

    def _taking_command(self) -> bool:
        # A command already started (by the wake word, a question or the
        # button) is heard out; "no-wake" listening is what muting stops.
        return self.listener.mode == "command" and self.listener.started_by != "no-wake"

    def _wake_name(self) -> str | None:
        wake = self.listener.wake
        return None if wake is None else wake.name

    async def _controls(self, controls: asyncio.Queue[Control]) -> None:
        while True:
            control = await controls.get()
            try:
                await self._apply(control)
                if self.interface is not None:
                    await self.interface.publish_controls(self.muted, self._wake_name())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a control must not stop the assistant
                log.warning("could not apply %s %r: %s", control.kind, control.value, exc)

    async def _apply(self, control: Control) -> None:
        if control.kind == "mute":
            self.muted = control.value == "ON"
            log.info("microphone %s", "muted" if self.muted else "unmuted")
            if not self.muted and self.listener.mode != "command" and self.listener.wake:
                self.listener.wake.reset()  # forget the audio from before the mute
        elif control.kind == "listen":
            if self.state != "idle":
                log.info("listen button ignored: %s", self.state)
                return
            # Like a follow-up question: the next speech is the command.
            self.listener.expect_command("follow-up")
            self._set_state("listening")
        else:
            detector = await switched_wake_word(self.listener.wake, control.value)
            if detector is not None:
                self.listener.wake = detector
