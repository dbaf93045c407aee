"""The LLM prompt: a static prefix (evaluated once, its KV cache reused) and a live suffix.

The prefix holds the instructions, the intents with their slots, the live
names and the few-shot examples. It depends only on its inputs, so it is
byte-identical between calls and llama.cpp reuses the evaluated state; it
changes (and is evaluated once more) only when the intents or names change.
The suffix is the user's sentence and the start of the answer.

Two styles: ChatML for instruction-tuned models whose GGUF carries such a
template (SmolLM2-Instruct, Qwen), plain completion for base models (Gemma
270M base), where "Command: ... / JSON: ..." pairs do the teaching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from assistant.understanding.calls import IntentCall, IntentSchema, Vocabulary
from assistant.understanding.grammar import render_calls, usable_slots

Style = Literal["chat", "completion"]
# Characters of device names shown in the prompt (about 4 characters a token).
NAMES_BUDGET = 1000

INSTRUCTIONS = (
    "You control a smart home. Turn the user's command into JSON.\n"
    'One action: {"intent":...,slot:value}. Several actions: a JSON list of them. '
    'Not a smart-home request: {"intent":"none"}.\n'
    "Use only the intents, devices, areas and floors listed below. "
    "Numbers are digits; percentages are 0-100.\n"
)


@dataclass(frozen=True)
class Prompt:
    """A prompt split where the cache boundary lies."""

    prefix: str
    style: Style

    def suffix_parts(self, text: str) -> tuple[str, str, str]:
        """The live part as (template before, the sentence, template after).

        Kept apart so the sentence is tokenized as plain text: a user cannot
        smuggle chat-template control tokens into the prompt.
        """
        text = sentence_for_model(text)
        if self.style == "chat":
            return "<|im_start|>user\n", text, "<|im_end|>\n<|im_start|>assistant\n"
        return "Command:", " " + text, "\nJSON: "

    def suffix(self, text: str) -> str:
        """The live part for one sentence."""
        return "".join(self.suffix_parts(text))


_UNIT_WORDS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TEN_WORDS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_UNITS = {word: value for value, word in enumerate(_UNIT_WORDS)}
_TENS = {word: 10 * (index + 2) for index, word in enumerate(_TEN_WORDS)}


def words_to_digits(text: str) -> str:
    """English number words -> digits ("twenty five percent" -> "25 percent").

    Tiny models copy digits far more reliably than they convert words, and
    speech recognition often spells numbers out.
    """
    out: list[str] = []
    words = text.split(" ")
    index = 0
    while index < len(words):
        word = words[index].lower()
        parts = word.split("-")
        if parts[0] in _TENS and (len(parts) == 1 or parts[1] in _UNITS):
            value = _TENS[parts[0]] + (_UNITS[parts[1]] if len(parts) == 2 else 0)
            nxt = words[index + 1].lower() if index + 1 < len(words) else ""
            if len(parts) == 1 and nxt in _UNITS and 0 < _UNITS[nxt] < 10:
                value += _UNITS[nxt]
                index += 1
            out.append(str(value))
        elif word in _UNITS and word != "one":
            out.append(str(_UNITS[word]))
        elif word == "hundred" or (
            word in ("a", "one")
            and index + 1 < len(words)
            and words[index + 1].lower() == "hundred"
        ):
            if word != "hundred":
                index += 1
            out.append("100")
        else:
            out.append(words[index])
        index += 1
    return " ".join(out)


def sentence_for_model(text: str) -> str:
    """The sentence as the model sees it: single spaces, numbers in digits."""
    return words_to_digits(" ".join(text.split()))


def style_for(chat_template: str | None) -> Style:
    """ChatML if the model's template uses it, else plain completion."""
    return "chat" if chat_template and "<|im_start|>" in chat_template else "completion"


def describe_intents(schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> str:
    """One line per intent the grammar can produce: name (slots): description."""
    lines = []
    for schema in schemas:
        slots = usable_slots(schema, vocabulary)
        if slots is None:
            continue
        names = ", ".join(spec.name + ("*" if spec.required else "") for spec in slots)
        head = f"{schema.name} ({names})" if names else schema.name
        lines.append(f"- {head}: {schema.description}" if schema.description else f"- {head}")
    return "\n".join(lines)


def _listing(values: Sequence[str], budget: int) -> str:
    shown: list[str] = []
    used = 0
    for value in values:
        used += len(value) + 2
        if used > budget:
            return ", ".join(shown) + f" (and {len(values) - len(shown)} more)"
        shown.append(value)
    return ", ".join(shown)


def describe_vocabulary(vocabulary: Vocabulary, budget: int = NAMES_BUDGET) -> str:
    """The live names, one line per kind, within a character budget.

    A large home would not fit a small context; the grammar still holds every
    name, so a shortened list costs the model hints, never correctness.
    """
    lines = [f"Devices: {_listing(vocabulary.names, budget) or '(none)'}"]
    if vocabulary.areas:
        lines.append(f"Areas: {_listing(vocabulary.areas, budget // 4)}")
    if vocabulary.floors:
        lines.append(f"Floors: {_listing(vocabulary.floors, budget // 8)}")
    return "\n".join(lines)


TUNED_INSTRUCTIONS = "Turn the smart-home command into JSON. Not a command: none.\n"
"""The whole task statement of the distilled model (``assistant train``): no few-shot block."""


def tuned_prompt(vocabulary: Vocabulary) -> Prompt:
    """The static prefix (ChatML) the distilled adapter was trained on, for one home.

    The training data (``assistant.training.format``) is written with this very
    function, so the runtime prompt and the training prompt cannot drift.
    """
    system = TUNED_INSTRUCTIONS + describe_vocabulary(vocabulary) + "\n"
    return Prompt(prefix=f"<|im_start|>system\n{system}<|im_end|>\n", style="chat")


def _header(schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> str:
    """Instructions, intents and names: the system message (or the completion's head)."""
    return (
        INSTRUCTIONS
        + "Intents (* = required slot):\n"
        + describe_intents(schemas, vocabulary)
        + "\n"
        + describe_vocabulary(vocabulary)
        + "\n"
    )


def build_messages(
    schemas: Sequence[IntentSchema],
    vocabulary: Vocabulary,
    examples: Sequence[tuple[str, Sequence[IntentCall]]],
    text: str,
) -> list[dict[str, str]]:
    """The chat prompt as OpenAI-style messages (a model server applies its own template).

    The same header and examples as `build_prompt`'s chat style; everything
    but the last message is identical between calls, so a server that caches
    prompts (llama.cpp, vLLM, Ollama) reuses it.
    """
    messages = [{"role": "system", "content": _header(schemas, vocabulary)}]
    for example, calls in examples:
        messages.append({"role": "user", "content": example})
        messages.append({"role": "assistant", "content": render_calls(calls, schemas)})
    messages.append({"role": "user", "content": sentence_for_model(text)})
    return messages


def build_prompt(
    schemas: Sequence[IntentSchema],
    vocabulary: Vocabulary,
    examples: Sequence[tuple[str, Sequence[IntentCall]]],
    style: Style,
) -> Prompt:
    """The static prefix for these schemas, names and examples."""
    header = _header(schemas, vocabulary)
    shots = [(text, render_calls(calls, schemas)) for text, calls in examples]
    if style == "chat":
        parts = [f"<|im_start|>system\n{header}<|im_end|>\n"]
        for text, answer in shots:
            parts.append(f"<|im_start|>user\n{text}<|im_end|>\n")
            parts.append(f"<|im_start|>assistant\n{answer}<|im_end|>\n")
        return Prompt(prefix="".join(parts), style=style)
    parts = [header, "\n"]
    for text, answer in shots:
        parts.append(f"Command: {text}\nJSON: {answer}\n\n")
    return Prompt(prefix="".join(parts), style=style)
