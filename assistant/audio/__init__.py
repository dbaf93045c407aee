"""Audio in and out: 16 kHz, mono, signed 16-bit inside the assistant."""

SAMPLE_RATE = 16000
SAMPLE_WIDTH = 2
CHANNELS = 1
