"""Vosk (Kaldi) streaming recognition, optionally restricted to a phrase list.

Grammar mode hands Vosk a JSON list of the phrases (plus "[unk]" when the
model has that word), so the decoder only produces words of those phrases.
Phrases with a word the model does not know are left out (Vosk would
otherwise drop the word and accept a different phrase).  Vosk's grammar lets
the words recombine, so it is asked for its n-best alternatives and the best
one that is exactly a listed phrase wins; anything else, "[unk]" included,
becomes "".

How sure Vosk is of that phrase (``confidence``) is its share of the n-best
list: the alternatives' scores are log-likelihoods, so exp(score) normalised
over the list approximates the phrase's posterior.  Vosk's per-word "conf"
(``SetWords``) is not given in n-best mode, and on the espeak-ng set it was
no better a guide: a Korean sentence outside the grammar came out as a listed
phrase with every word at 1.0.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.audio import SAMPLE_RATE, Samples
from assistant.stt.base import Transcript, normalise_phrase

log = logging.getLogger(__name__)

UNKNOWN = "[unk]"


ALTERNATIVES = 10


def grammar_json(phrases: Sequence[str], unknown: bool = True) -> str:
    """Vosk's grammar: a JSON list of lowercase phrases, ending with "[unk]" if wanted."""
    unique = list(dict.fromkeys(normalise_phrase(p) for p in phrases if p.strip()))
    return json.dumps([*unique, UNKNOWN] if unknown else unique, ensure_ascii=False)


class VoskEngine:
    """Streaming Vosk recogniser; the model is loaded once and kept."""

    name = "vosk"

    def __init__(self, model_path: Path, model_name: str | None = None) -> None:
        import vosk

        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self.model_name = model_name or model_path.name
        self._model = vosk.Model(str(model_path))
        self._phrases: frozenset[str] | None = None
        self._recognizer = self._new_recognizer(None)
        self._segments: list[str] = []
        self._samples = 0
        self._decode_seconds = 0.0
        self._sure = 1.0  # the utterance's confidence so far
        self.confidence = 1.0
        """Grammar mode: the n-best share of the last utterance's phrase (0: none listed)."""

    def _new_recognizer(self, grammar: str | None) -> Any:
        if grammar is None:
            return self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        recognizer = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE, grammar)
        recognizer.SetMaxAlternatives(ALTERNATIVES)
        return recognizer

    def known_word(self, word: str) -> bool:
        """True when the model's vocabulary has `word`."""
        return int(self._model.vosk_model_find_word(word)) >= 0

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """Restrict recognition to `phrases` (None: free recognition); drops the utterance.

        When the model can say none of the phrases (a model for another
        language) recognition stays free: an empty grammar would crash Vosk.
        """
        usable: list[str] = []
        if phrases is not None:
            usable = [
                normalise_phrase(p)
                for p in phrases
                if p.strip() and all(self.known_word(w) for w in normalise_phrase(p).split())
            ]
            dropped = len([p for p in phrases if p.strip()]) - len(usable)
            if not usable:
                log.warning("vosk grammar: the model knows none of the phrases; recognising freely")
            elif dropped:
                log.info("vosk grammar: %d phrase(s) have words the model lacks", dropped)
        if usable:
            self._phrases = frozenset(usable)
            grammar = grammar_json(usable, unknown=self.known_word(UNKNOWN))
            self._recognizer = self._new_recognizer(grammar)
        else:
            self._phrases = None
            self._recognizer = self._new_recognizer(None)
        self.reset()

    @property
    def phrases(self) -> frozenset[str] | None:
        """The phrases recognition is restricted to, None when free."""
        return self._phrases

    def accept(self, frames: Samples) -> str:
        """Feed frames; return the partial text of the utterance so far."""
        started = time.perf_counter()
        self._samples += len(frames)
        if self._recognizer.AcceptWaveform(frames.astype("<i2").tobytes()):
            # Vosk found an endpoint inside the utterance: keep that segment.
            self._segments.append(self._text(self._recognizer.Result(), "text"))
            partial = ""
        else:
            partial = self._text(self._recognizer.PartialResult(), "partial")
        self._decode_seconds += time.perf_counter() - started
        return " ".join(s for s in [*self._segments, partial] if s)

    def finish(self) -> Transcript:
        """The final text; the recogniser is reset for the next utterance."""
        started = time.perf_counter()
        self._segments.append(self._text(self._recognizer.FinalResult(), "text"))
        text = " ".join(s for s in self._segments if s)
        confidence = self._sure
        if self._phrases is not None:
            text = self._restrict(text)
            confidence = confidence if text else 0.0
        self._decode_seconds += time.perf_counter() - started
        result = Transcript(
            text=text,
            engine=self.name,
            model=self.model_name,
            audio_seconds=self._samples / SAMPLE_RATE,
            decode_ms=self._decode_seconds * 1000.0,
        )
        self.reset()
        self.confidence = confidence
        return result

    def reset(self) -> None:
        """Forget the current utterance."""
        self._recognizer.Reset()
        self._segments = []
        self._samples = 0
        self._decode_seconds = 0.0
        self._sure = 1.0

    def fork(self) -> VoskEngine:
        """A second engine on the same model: its own recogniser, recognising freely
        until given phrases (Vosk shares one model among recognisers on any thread)."""
        twin = copy.copy(self)
        twin._phrases = None
        twin._recognizer = twin._new_recognizer(None)
        twin.reset()
        return twin

    def _restrict(self, text: str) -> str:
        # Several endpoints may have produced several phrases; keep only listed ones.
        words = normalise_phrase(text.replace(UNKNOWN, " "))
        assert self._phrases is not None
        if words in self._phrases:
            return words
        return ""

    def _text(self, result: str, key: str) -> str:
        try:
            data = json.loads(result)
        except ValueError:
            return ""
        if "alternatives" in data:
            alternatives = data["alternatives"]
            texts = [str(alt.get("text", "")).strip() for alt in alternatives]
            listed = [
                i for i, t in enumerate(texts) if normalise_phrase(t) in (self._phrases or ())
            ]
            if key == "text" and any(texts):
                # Several segments: the utterance is as sure as its least sure one.
                self._sure = min(self._sure, _share(alternatives, listed))
            text = texts[listed[0]] if listed else (texts or [""])[0]
        else:
            text = str(data.get(key, "")).strip()
        return "" if text == UNKNOWN else text


def _share(alternatives: list[dict[str, Any]], listed: list[int]) -> float:
    """exp(score) of the first listed alternative over the sum for all (0: none listed)."""
    if not listed:
        return 0.0
    scores = [float(alt.get("confidence", 0.0)) for alt in alternatives]
    top = max(scores)
    weights = [math.exp(score - top) for score in scores]
    return weights[listed[0]] / sum(weights)
