"""Server mode against llama.cpp's own server, and the real local model answering when it cannot.

The server is llama-cpp-python's (``python -m llama_cpp.server``) on the
embedded SmolLM2 GGUF, on a free loopback port, with an API key; the local
model is the same GGUF in the assistant's worker process.  Which of the two
answered is read from the server's access log and from our log line.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.config_llm_server import LlmServerConfig
from assistant.models import ModelStore
from assistant.understanding.calls import IntentCall
from assistant.understanding.fewshot import default_examples
from assistant.understanding.grammar import focus, parse_output
from assistant.understanding.json_schema import build_json_schema
from assistant.understanding.llm_process import LlmProcess
from assistant.understanding.llm_server import ServerBackend
from assistant.understanding.prompt import build_messages
from tests.model_servers import LlamaServer, llama_server, model_peer
from tests.test_llm_process import SCHEMAS, VOCABULARY

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

TOKEN = "sk-live-4b9e2a-secret"
MODEL = "smollm2-135m-instruct-q4_1"
SENTENCE = "switch off the desk lamp"
EXPECTED = (IntentCall("HassTurnOff", {"name": "Desk Lamp"}),)
# Generous limits, past what the config allows: a cold prompt on a busy
# 2-core machine takes minutes, and speed is bench/llm_server.py's business.
SLOW_MACHINE_SECONDS = 600.0


def model_path() -> Path:
    return ModelStore.from_settings(Settings()).locate(MODEL)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    with llama_server(model_path(), tmp_path_factory.mktemp("llama"), TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def local() -> Iterator[LlmProcess]:
    process = LlmProcess(model_path(), threads=2, context=2048, timeout_s=SLOW_MACHINE_SECONDS)
    yield process
    process.close()


def config(url: str, **more: object) -> LlmServerConfig:
    checked = LlmServerConfig.model_validate({"url": url, "token": TOKEN, **more})
    if "timeout_seconds" in more:
        return checked
    return checked.model_copy(update={"timeout_seconds": SLOW_MACHINE_SECONDS})


def test_the_server_answers_under_the_grammar(
    server: LlamaServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    remote = ServerBackend(config(server.url), None)
    before = server.answered()
    result = remote.parse(SENTENCE, SCHEMAS, VOCABULARY)
    assert result.error is None, result.raw
    assert result.calls == EXPECTED
    assert server.answered() == before + 1
    assert result.timings.prompt_tokens > 0  # llama.cpp's own count
    assert TOKEN not in caplog.text
    assert str(server.port) not in caplog.text


def test_a_wrong_token_is_refused_by_the_server(
    server: LlamaServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = ServerBackend(config(server.url, token="not-the-key"), None)
    result = wrong.parse(SENTENCE, SCHEMAS, VOCABULARY)
    assert result.error is not None
    assert "answered HTTP 401: Invalid API key; no local model to ask" in caplog.text
    assert "not-the-key" not in caplog.text


def test_the_local_model_answers_when_the_server_times_out(
    local: LlmProcess, caplog: pytest.LogCaptureFixture
) -> None:
    with model_peer() as peer:
        peer.hang = True  # accepts the request, never answers
        both = ServerBackend(config(peer.url, timeout_seconds=0.5), local)
        result = both.parse(SENTENCE, SCHEMAS, VOCABULARY)
    assert result.calls == EXPECTED, result.raw
    assert len(peer.requests) == 1
    assert "timed out after 0.5 s; using the local model" in caplog.text


def test_llama_cpp_decodes_under_our_json_schema(server: LlamaServer) -> None:
    # llama-cpp-python's server takes a schema only in its own response_format
    # ({"type": "json_object", "schema": ...}), not OpenAI's json_schema form that
    # Ollama and vLLM take; through it, llama.cpp's JSON-schema-to-grammar
    # converter (the one Ollama uses too) constrains the real model with our schema.
    body = {
        "messages": build_messages(SCHEMAS, VOCABULARY, default_examples(SCHEMAS), SENTENCE),
        "temperature": 0.0,
        "max_tokens": 96,
        "response_format": {
            "type": "json_object",
            "schema": build_json_schema(SCHEMAS, focus(VOCABULARY, SENTENCE)),
        },
    }
    request = urllib.request.Request(
        f"{server.url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=SLOW_MACHINE_SECONDS) as response:
        answer = json.load(response)
    raw = answer["choices"][0]["message"]["content"]
    assert tuple(parse_output(raw, SCHEMAS, VOCABULARY)) == EXPECTED, raw


# Last in the module: it stops the module's server (a cold prompt costs a
# 2-core machine a minute; one server per module pays it once).
def test_the_local_model_answers_once_the_server_is_stopped(
    server: LlamaServer, local: LlmProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    both = ServerBackend(config(server.url), local)
    before = server.answered()
    first = both.parse(SENTENCE, SCHEMAS, VOCABULARY)
    assert first.calls == EXPECTED, first.raw
    assert server.answered() == before + 1  # the server answered, not the local model
    assert "local model" not in caplog.text
    server.stop()  # mid-run: the next sentence finds nobody listening
    second = both.parse(SENTENCE, SCHEMAS, VOCABULARY)
    assert second.error is None, second.raw
    assert second.calls == EXPECTED
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert line.startswith("the model server ([llm_server] url) cannot be reached")
    assert "using the local model" in line
    assert TOKEN not in caplog.text
    assert str(server.port) not in caplog.text
