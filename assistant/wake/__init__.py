"""Wake word detection (pymicro-wakeword)."""

from assistant.wake.detector import MODELS, ModelName, WakeDetector, WakeWordDetector

__all__ = ["MODELS", "ModelName", "WakeDetector", "WakeWordDetector"]
