"""Wake word detection (pymicro-wakeword)."""

from assistant.wake.detector import (
    MODELS,
    AlwaysAwake,
    WakeDetector,
    WakeWordDetector,
    create_detector,
)

__all__ = ["MODELS", "AlwaysAwake", "WakeDetector", "WakeWordDetector", "create_detector"]
