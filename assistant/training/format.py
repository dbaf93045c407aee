"""What the tuned model sees and must answer: a short system part and the label.

The tuned model needs no few-shot block: the system part states the task
and lists the home's names (``describe_vocabulary``, as the runtime prompt
does), the user turn is the sentence after the runtime's own
``words_to_digits``, and the answer is ``render_calls``: byte for byte what
the GBNF grammar lets the model produce.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.understanding.calls import IntentCall, IntentSchema, Vocabulary
from assistant.understanding.grammar import render_calls
from assistant.understanding.prompt import tuned_prompt

END = "<|im_end|>"


def prompt_text(vocabulary: Vocabulary, sentence: str) -> str:
    """The whole prompt for one sentence, ending where the answer starts."""
    prompt = tuned_prompt(vocabulary)
    return prompt.prefix + prompt.suffix(sentence)


def answer_text(calls: Sequence[IntentCall], schemas: Sequence[IntentSchema]) -> str:
    """The label as the grammar spells it (no whitespace, schema slot order)."""
    return render_calls(calls, schemas)
