"""Wake word detection with microWakeWord models (pymicro-wakeword).

pymicro-wakeword runs the TFLite models that ESPHome voice satellites use;
its features come from pymicro-features (the TFLite-micro audio front end,
10 ms steps).  The model averages its last few probabilities and compares
them to a cut-off; we report a detection once and then reset the model, so
one spoken wake word is one detection.
"""

from __future__ import annotations

import logging
from typing import Literal, Protocol

from assistant.audio import Samples

log = logging.getLogger(__name__)

ModelName = Literal["okay_nabu", "hey_jarvis", "alexa", "hey_mycroft"]
MODELS: tuple[ModelName, ...] = ("okay_nabu", "hey_jarvis", "alexa", "hey_mycroft")


class WakeDetector(Protocol):
    """Frames in; True once per wake word.  No wake word at all is ``None``, not a detector."""

    name: str

    def process(self, frame: Samples) -> bool:
        """Feed one 16 kHz int16 frame; True when the wake word just ended in it."""
        ...

    def reset(self) -> None:
        """Forget the audio seen so far."""
        ...


class WakeWordDetector:
    """One bundled microWakeWord model with an optional threshold override."""

    def __init__(self, model: ModelName = "okay_nabu", threshold: float | None = None) -> None:
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

        self._mww = MicroWakeWord.from_builtin(Model(model))
        self._features = MicroWakeWordFeatures()
        self.name: str = model
        self.wake_word: str = self._mww.wake_word
        self.threshold: float = self._mww.probability_cutoff if threshold is None else threshold
        """Averaged probability above which the wake word counts as heard."""
        self.last_probability = 0.0
        """The highest averaged probability in the last frame (for tuning the threshold)."""

    def process(self, frame: Samples) -> bool:
        """Feed a frame; True once when the wake word is heard (then the model resets)."""
        peak = 0.0
        for features in self._features.process_streaming(frame.astype("<i2").tobytes()):
            # 0.0 also means "no inference on this step" (it runs every third step).
            probability = self._mww.process_streaming_prob(features) or 0.0
            peak = max(peak, probability)
            if probability > self.threshold:
                log.debug("wake word %r: probability %.3f", self.wake_word, probability)
                self.reset()
                self.last_probability = probability
                return True
        self.last_probability = peak
        return False

    def reset(self) -> None:
        """Clear the features, the probability window and the model's streaming state."""
        self._features.reset()
        self._mww.reset()
        self.last_probability = 0.0
