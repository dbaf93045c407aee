"""Wake word detection with microWakeWord models (pymicro-wakeword).

pymicro-wakeword runs the TFLite models that ESPHome voice satellites use;
its features come from pymicro-features (the TFLite-micro audio front end,
10 ms steps).  The model averages its last few probabilities and compares
them to a cut-off; we report a detection once and then reset the model, so
one spoken wake word is one detection.

Where the wake word ended: the averaged probability crosses the cut-off
0.09-0.35 s after the word (later when the command follows with no pause),
but the model's raw probability climbs above ``WORD_END_PROBABILITY`` within
-0.03..+0.04 s of the end (4 espeak-ng voices x 2 speeds, pauses 0-0.3 s,
tests/test_wake_cut.py).  The start of that run, plus a margin, is where the
command may begin.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Literal, Protocol

from assistant.audio import SAMPLE_RATE, Samples

log = logging.getLogger(__name__)

ModelName = Literal["okay_nabu", "hey_jarvis", "alexa", "hey_mycroft"]
MODELS: tuple[ModelName, ...] = ("okay_nabu", "hey_jarvis", "alexa", "hey_mycroft")

WORD_END_PROBABILITY = 0.6
"""A raw (not averaged) probability above this marks the wake word's last syllable."""
WORD_END_MARGIN_SECONDS = 0.04
"""Added to the start of that run: its measured spread around the word's end."""
_STEP_SAMPLES = SAMPLE_RATE // 100  # one feature step (10 ms)


class WakeDetector(Protocol):
    """Frames in; True once per wake word.  No wake word at all is ``None``, not a detector."""

    name: str
    last_probability: float
    """After a detection: the probability that crossed the threshold (its score)."""

    def process(self, frame: Samples) -> bool:
        """Feed one 16 kHz int16 frame; True when the wake word just ended in it."""
        ...

    def reset(self) -> None:
        """Forget the audio seen so far."""
        ...

    def word_ended(self) -> int | None:
        """After a detection: how many samples before the end of the frame the
        wake word ended (an estimate), or None when the detector cannot tell."""
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
        self._steps = 0  # feature steps since the last reset
        self._fed = 0  # samples since the last reset
        # (step, raw probability) of recent inferences, for word_ended().
        self._raw: deque[tuple[int, float]] = deque(maxlen=16)
        self._ended: int | None = None

    def process(self, frame: Samples) -> bool:
        """Feed a frame; True once when the wake word is heard (then the model resets)."""
        peak = 0.0
        self._fed += frame.size
        for features in self._features.process_streaming(frame.astype("<i2").tobytes()):
            self._steps += 1
            # 0.0 also means "no inference on this step" (it runs every third step).
            probability = self._mww.process_streaming_prob(features) or 0.0
            self._note_raw()
            peak = max(peak, probability)
            if probability > self.threshold:
                log.debug("wake word %r: probability %.3f", self.wake_word, probability)
                ended = self._word_end_samples_ago()
                self.reset()
                self._ended = ended
                self.last_probability = probability
                return True
        self.last_probability = peak
        return False

    def _note_raw(self) -> None:
        # pymicro-wakeword keeps the raw probabilities it averages; a new one
        # was added when the feature buffer was just consumed by an inference.
        # Private (2.5 has no public accessor): another version without them
        # leaves word_ended() None and the listener falls back to a fixed lookback.
        raws = getattr(self._mww, "_probabilities", None)
        if raws and not getattr(self._mww, "_features", True):
            self._raw.append((self._steps, float(raws[-1])))

    def _word_end_samples_ago(self) -> int | None:
        """Samples from where the high raw probabilities began (plus the margin) to now."""
        start = None
        for step, raw in reversed(self._raw):
            if raw <= WORD_END_PROBABILITY:
                break
            start = step
        if start is None:
            return None
        ended = start * _STEP_SAMPLES + round(WORD_END_MARGIN_SECONDS * SAMPLE_RATE)
        return max(0, self._fed - ended)

    def word_ended(self) -> int | None:
        """Samples before the end of the last frame where the wake word ended, after a detection."""
        return self._ended

    def reset(self) -> None:
        """Clear the features, the probability window and the model's streaming state."""
        self._features.reset()
        self._mww.reset()
        self.last_probability = 0.0
        self._steps = 0
        self._fed = 0
        self._raw.clear()
        self._ended = None
