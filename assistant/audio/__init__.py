"""Audio in and out: 16 kHz, mono, signed 16-bit inside the assistant."""

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16000
SAMPLE_WIDTH = 2
CHANNELS = 1

Samples = npt.NDArray[np.int16]
"""A block of 16 kHz mono int16 audio; every frame between stages is one of these."""
