"""`assistant intents check`: validate custom sentence YAML, naming file and line.

Checks each file on its own (YAML syntax, the shape hassil expects, every
sentence template parses, every {list} and <rule> it uses exists, every
intent has a handler, response templates compile), so one mistake is
reported where it is, not as a failure of the whole merged set.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hassil.expression import Expression, Group, ListReference, RuleReference
from hassil.parse_expression import parse_sentence
from hassil.parser import ParseError
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from assistant.understanding.sentences import builtin_dict

TOP_KEYS = frozenset(
    {"language", "intents", "lists", "expansion_rules", "responses", "skip_words", "settings"}
)
DATA_KEYS = frozenset(
    {
        "sentences", "slots", "requires_context", "excludes_context", "expansion_rules",
        "lists", "response", "metadata", "required_keywords", "settings",
    }
)  # fmt: skip
LIVE_LISTS = frozenset({"name", "area", "floor"})


@dataclass(frozen=True)
class Problem:
    """One mistake in one file."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                found: yaml.Node = v
                return found
    return None


def _key_line(node: yaml.Node | None, key: str) -> int:
    """The line where `key` itself is written (its value may start below)."""
    if isinstance(node, yaml.MappingNode):
        for k, _v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return int(k.start_mark.line) + 1
    return _line(node)


def _item(node: yaml.Node | None, index: int) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode) and index < len(node.value):
        found: yaml.Node = node.value[index]
        return found
    return None


def _references(expression: Expression) -> Iterator[tuple[str, str]]:
    """("list", name) and ("rule", name) used by an expression."""
    if isinstance(expression, ListReference):
        if not expression.is_inline_range:
            yield "list", expression.list_name
    elif isinstance(expression, RuleReference):
        yield "rule", expression.rule_name
    elif isinstance(expression, Group):
        for item in expression.items:
            yield from _references(item)


def check_file(path: Path, handler_names: Sequence[str], language: str = "en") -> list[Problem]:
    """Every problem in one custom sentence file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [Problem(path, 1, f"cannot read ({exc.strerror})")]
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return [Problem(path, line, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(data, dict):
        return [Problem(path, 1, "expected a mapping with 'language' and 'intents'")]
    problems: list[Problem] = []
    for key in data:
        if key not in TOP_KEYS:
            problems.append(Problem(path, _key_line(root, key), f"unknown key '{key}'"))
    if data.get("language", language) != language:
        problems.append(
            Problem(path, _line(_child(root, "language")), f"language is not '{language}'")
        )
    builtin = builtin_dict(language)
    lists = set(builtin.get("lists", {})) | set(data.get("lists") or {}) | LIVE_LISTS
    rules = set(builtin.get("expansion_rules", {})) | set(data.get("expansion_rules") or {})
    for name, body in (data.get("expansion_rules") or {}).items():
        node = _child(_child(root, "expansion_rules"), name)
        try:
            parse_sentence(str(body), keep_text=True)
        except (ParseError, ValueError, IndexError) as exc:
            problems.append(Problem(path, _line(node), f"rule <{name}>: {exc}"))
    intents = data.get("intents")
    intents_node = _child(root, "intents")
    if not isinstance(intents, dict) or not intents:
        problems.append(Problem(path, _line(intents_node), "'intents' must map intent names"))
        return problems
    for intent, body in intents.items():
        node = _child(intents_node, intent)
        if intent not in handler_names:
            line = _key_line(intents_node, intent)
            problems.append(Problem(path, line, f"no handler registered for {intent}"))
        blocks = body.get("data") if isinstance(body, dict) else None
        if not isinstance(blocks, list) or not blocks:
            problems.append(Problem(path, _line(node), f"{intent}: 'data' must be a list"))
            continue
        for index, block in enumerate(blocks):
            problems += _check_block(
                path,
                intent,
                block=block,
                node=_item(_child(node, "data"), index),
                lists=lists,
                rules=rules,
            )
    problems += _check_responses(path, data, root)
    return problems


def _check_block(
    path: Path,
    intent: str,
    *,
    block: Any,
    node: yaml.Node | None,
    lists: set[str],
    rules: set[str],
) -> list[Problem]:
    if not isinstance(block, dict):
        return [Problem(path, _line(node), f"{intent}: each data item must be a mapping")]
    problems = [
        Problem(path, _key_line(node, key), f"{intent}: unknown key '{key}'")
        for key in block
        if key not in DATA_KEYS
    ]
    local_lists = lists | set(block.get("lists") or {})
    local_rules = rules | set(block.get("expansion_rules") or {})
    sentences = block.get("sentences")
    if not isinstance(sentences, list) or not sentences:
        problems.append(Problem(path, _line(node), f"{intent}: 'sentences' must be a list"))
        return problems
    for index, sentence in enumerate(sentences):
        where = _line(_item(_child(node, "sentences"), index))
        if not isinstance(sentence, str):
            problems.append(Problem(path, where, f"{intent}: a sentence must be text"))
            continue
        try:
            parsed = parse_sentence(sentence, keep_text=True)
        except (ParseError, ValueError, IndexError) as exc:
            problems.append(Problem(path, where, f"{intent}: cannot parse {sentence!r}: {exc}"))
            continue
        for kind, name in _references(parsed.expression):
            if kind == "list" and name not in local_lists:
                problems.append(Problem(path, where, f"{intent}: unknown list {{{name}}}"))
            if kind == "rule" and name not in local_rules:
                problems.append(Problem(path, where, f"{intent}: unknown rule <{name}>"))
    return problems


def _check_responses(path: Path, data: dict[str, Any], root: yaml.Node | None) -> list[Problem]:
    problems: list[Problem] = []
    env = SandboxedEnvironment()
    responses = (data.get("responses") or {}).get("intents") or {}
    node = _child(_child(root, "responses"), "intents")
    for intent, keyed in responses.items():
        if not isinstance(keyed, dict):
            continue
        for key, template in keyed.items():
            where = _line(_child(_child(node, intent), key))
            try:
                env.parse(str(template))
            except TemplateSyntaxError as exc:
                line = where + (exc.lineno - 1 if exc.lineno else 0)
                problems.append(Problem(path, line, f"response {intent}.{key}: {exc.message}"))
    return problems
