"""Server mode on the wire: what the assistant sends, and what it does with the answers.

The peer is a real HTTP server on loopback (tests/model_servers.py) that
answers as scripted: a model server that hangs, fails, sends garbage or an
answer the validator must refuse.  The real llama.cpp server, and the real
local model answering when it cannot, are in tests/test_llm_server_live.py.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator

import pytest

from assistant.commands.config import to_toml
from assistant.commands.doctor import models_in_use
from assistant.config import ConfigError, Settings, parse, secrets
from assistant.config_llm_server import LlmServerConfig
from assistant.models import ModelStore
from assistant.understanding.calls import IntentCall, IntentSchema, SlotSpec, Vocabulary
from assistant.understanding.dryrun import RecordingExecutor
from assistant.understanding.factory import build, describe_fallback, make_fallback
from assistant.understanding.fallback import LlmAdapter
from assistant.understanding.fewshot import default_examples
from assistant.understanding.grammar import build_grammar, focus
from assistant.understanding.json_schema import build_json_schema
from assistant.understanding.llm import LlmTimings
from assistant.understanding.llm_server import ServerBackend, chat_url
from assistant.understanding.prompt import build_messages
from tests.conftest import free_port
from tests.model_servers import Peer, completion, model_peer
from tests.test_understanding import did, home

TOKEN = "sk-test-7d1f0c-secret"
SCHEMAS = (
    IntentSchema(
        "HassTurnOn", "Turn on a device", (SlotSpec("name", "name"), SlotSpec("area", "area"))
    ),
    IntentSchema(
        "HassLightSet",
        "Set brightness",
        (SlotSpec("name", "name"), SlotSpec("brightness", "number", True, 0, 100)),
    ),
    IntentSchema("HassFloor", "Floor lights", (SlotSpec("floor", "floor", True),)),
)
VOCABULARY = Vocabulary(names=("Desk Lamp", "Ceiling Fan"), areas=("Office",))


@pytest.fixture
def peer() -> Iterator[Peer]:
    with model_peer() as running:
        yield running


def backend(peer: Peer, **config: object) -> ServerBackend:
    settings = LlmServerConfig.model_validate({"url": peer.url, "token": TOKEN, **config})
    return ServerBackend(settings, None)


def test_chat_url() -> None:
    assert chat_url("http://box:8080") == "http://box:8080/v1/chat/completions"
    assert chat_url("http://box:11434/v1/") == "http://box:11434/v1/chat/completions"
    assert chat_url("https://box/api/v1") == "https://box/api/v1/chat/completions"


def test_the_request_carries_the_prompt_grammar_and_token(
    peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    peer.body = completion('{"intent":"HassLightSet","name":"Desk Lamp","brightness":40}')
    result = backend(peer, model="big-model").parse(
        "dim the desk lamp to forty percent", SCHEMAS, VOCABULARY
    )
    assert result.error is None
    assert result.calls == (IntentCall("HassLightSet", {"name": "Desk Lamp", "brightness": 40}),)
    assert result.timings.prompt_tokens == 100
    [(headers, body)] = peer.requests
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert body["model"] == "big-model"
    assert body["temperature"] == 0
    # The local model's prompt and grammar: built from the same source.
    examples = default_examples(SCHEMAS)
    text = "dim the desk lamp to forty percent"
    assert body["messages"] == build_messages(SCHEMAS, VOCABULARY, examples, text)
    assert body["messages"][-1] == {"role": "user", "content": "dim the desk lamp to 40 percent"}
    assert body["grammar"] == build_grammar(SCHEMAS, focus(VOCABULARY, text))
    assert "Desk Lamp" in body["grammar"]
    assert "Ceiling Fan" not in body["grammar"]  # focused on the names said
    assert "response_format" not in body
    assert TOKEN not in caplog.text
    assert str(peer.port) not in caplog.text


def test_json_schema_mode_sends_the_same_language(peer: Peer) -> None:
    result = backend(peer, constraint="json_schema").parse("turn on the fan", SCHEMAS, VOCABULARY)
    assert result.error is None
    assert result.calls == ()  # {"intent":"none"}
    [(_, body)] = peer.requests
    assert "grammar" not in body
    assert "model" not in body  # not configured: the server's default
    sent = body["response_format"]
    assert sent["type"] == "json_schema"
    schema = sent["json_schema"]["schema"]
    assert schema == build_json_schema(SCHEMAS, focus(VOCABULARY, "turn on the fan"))
    calls = schema["$defs"]["call"]["anyOf"]
    # No floors in this home: the floor intent cannot be produced at all.
    assert [c["properties"]["intent"]["const"] for c in calls] == ["HassTurnOn", "HassLightSet"]
    light_set = calls[1]
    assert light_set["properties"]["brightness"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 100,
    }
    assert light_set["required"] == ["intent", "brightness"]
    assert light_set["additionalProperties"] is False
    assert calls[0]["properties"]["name"]["enum"] == ["Desk Lamp", "Ceiling Fan"]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"intent":"HassTurnOn","name":"Pool Pump"}', "no such name 'Pool Pump'"),
        ('{"intent":"HassLightSet","name":"Desk Lamp","brightness":400}', "outside 0..100"),
        ('{"intent":"HassSelfDestruct"}', "unknown intent 'HassSelfDestruct'"),
        ("Sure! I turned on the lamp.", "output is not JSON"),
    ],
)
def test_an_invalid_answer_is_refused_by_the_validator(
    peer: Peer, caplog: pytest.LogCaptureFixture, content: str, why: str
) -> None:
    caplog.set_level(logging.INFO)
    peer.body = completion(content)
    adapter = LlmAdapter(backend(peer))
    assert adapter.parse("turn on the lamp", SCHEMAS, VOCABULARY) is None
    [line] = [r.getMessage() for r in caplog.records]
    assert "invalid model server output" in line
    assert why in line
    assert "\n" not in line


@pytest.mark.parametrize(
    ("script", "why"),
    [
        ({"hang": True}, "timed out after 0.3 s"),
        (
            {"status": 500, "body": b'{"error":{"message":"out of memory"}}'},
            "HTTP 500: out of memory",
        ),
        ({"status": 401, "body": b'{"detail":"Invalid API key"}'}, "HTTP 401: Invalid API key"),
        ({"body": b"<html>gateway</html>"}, "not JSON"),
        ({"body": b'{"result": "ok"}'}, "not a chat completion"),
    ],
)
def test_a_server_that_cannot_answer_is_said_in_one_line(
    peer: Peer, caplog: pytest.LogCaptureFixture, script: dict[str, object], why: str
) -> None:
    caplog.set_level(logging.DEBUG)
    for key, value in script.items():
        setattr(peer, key, value)
    result = backend(peer, timeout_seconds=0.3).parse("turn on the lamp", SCHEMAS, VOCABULARY)
    assert result.error is not None
    assert "no local model" in result.error
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert line.startswith("the model server ([llm_server] url) ")
    assert why in line
    assert TOKEN not in caplog.text
    assert str(peer.port) not in caplog.text


def test_a_server_that_is_down_is_left_alone_then_asked_again(
    peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()  # nobody listens there
    config = LlmServerConfig(url=f"http://127.0.0.1:{port}", timeout_seconds=1)
    down = ServerBackend(config, None, retry_first=3600, retry_cap=3600)
    assert down.parse("x", SCHEMAS, VOCABULARY).error is not None
    assert "cannot be reached (Connection refused)" in caplog.text
    caplog.clear()
    down.parse("x", SCHEMAS, VOCABULARY)  # inside the backoff: not asked, not logged again
    assert caplog.text == ""
    # With no backoff the server is asked at once, and its return is noted.
    peer.status, peer.body = 503, b"{}"
    flaky = ServerBackend(LlmServerConfig(url=peer.url), None, retry_first=0, retry_cap=0)
    flaky.parse("x", SCHEMAS, VOCABULARY)
    peer.status, peer.body = 200, completion('{"intent":"none"}')
    assert flaky.parse("x", SCHEMAS, VOCABULARY).error is None
    assert len(peer.requests) == 2
    assert "answers again" in caplog.text


def test_warm_up_asks_the_server_in_the_background(
    peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    peer.hang = True  # warm() must not wait for the server
    remote = backend(peer)
    assert remote.warm(SCHEMAS, VOCABULARY) == LlmTimings()
    _wait_for(lambda: len(peer.requests) == 1)
    [(_, body)] = peer.requests
    assert body["max_tokens"] == 1  # the prompt only: the server caches it
    prompt = build_messages(SCHEMAS, VOCABULARY, default_examples(SCHEMAS), "")
    assert body["messages"][:-1] == prompt[:-1]
    # A server down at start: said once, and sentences skip it for a while.
    port = free_port()  # nobody listens there
    down = ServerBackend(LlmServerConfig(url=f"http://127.0.0.1:{port}"), None)
    down.warm(SCHEMAS, VOCABULARY)
    _wait_for(lambda: "cannot be reached" in caplog.text)
    assert down.parse("turn on the lamp", SCHEMAS, VOCABULARY).error is not None
    assert caplog.text.count("cannot be reached") == 1


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "condition not met in 30 s"
        time.sleep(0.02)


def test_config_keys_and_the_token_is_never_shown() -> None:
    settings = parse(
        {
            "understanding": {"llm": "server"},
            "llm_server": {"url": "http://10.0.0.5:8080/v1", "token": TOKEN, "model": "qwen"},
        }
    )
    assert settings.llm_server.timeout_seconds == 3.0
    assert settings.llm_server.constraint == "grammar"
    shown = to_toml(settings)
    assert TOKEN not in shown
    assert "[llm_server]" in shown
    assert TOKEN in secrets(settings)  # masked by the log filter
    with pytest.raises(ConfigError, match=r"llm_server\.url.*http:// or https://"):
        parse({"llm_server": {"url": "ftp://10.0.0.5/v1"}})
    with pytest.raises(ConfigError, match=r"llm_server\.url.*\[llm_server\] token") as bad:
        parse({"llm_server": {"url": "http://me:pw@10.0.0.5:8080/v1"}})
    assert "pw@" not in str(bad.value)  # an error does not echo the URL
    with pytest.raises(ConfigError, match=r"llm_server\.token.*got \*\*\*"):
        parse({"llm_server": {"token": 12}})
    with pytest.raises(ConfigError, match=r"unknown key 'llm_server\.urls'"):
        parse({"llm_server": {"urls": "http://x"}})


async def test_server_mode_through_the_engine(peer: Peer) -> None:
    settings = parse(
        {
            "understanding": {"llm": "server", "llm_confirm": False},
            "llm_server": {"url": peer.url, "local_model": False},
        }
    )
    assert describe_fallback(settings) == "model server only"
    used = models_in_use(settings, ModelStore.from_settings(settings))
    assert [purpose for purpose, _ in used if purpose == "llm"] == []  # doctor checks no GGUF
    fallback = make_fallback(settings)
    assert isinstance(fallback, LlmAdapter)
    assert isinstance(fallback.backend, ServerBackend)
    assert fallback.backend.local is None  # local_model = false: nothing loaded
    registry = home()
    executor = RecordingExecutor(registry)
    understanding, _ = build(settings, registry, executor, fallback=fallback, entry_points=False)
    assert understanding.llm_mode == "fallback"  # the server stands where the local model would
    peer.body = completion('{"intent":"HassTurnOn","name":"Bedroom Lamp"}')
    outcome = await understanding.process("it is too dark at my bedside")
    assert outcome.handled_by == "llm"
    assert did(executor) == {("light.bedroom_lamp", "turn_on")}
    # Templates still come first: the server is not asked for what they know.
    asked = len(peer.requests)
    assert (await understanding.process("turn off the bedroom lamp")).handled_by == "template"
    assert len(peer.requests) == asked
    sent = json.dumps(peer.requests[0][1])
    assert "Bedroom Lamp" in sent
    understanding.close()


def test_server_mode_without_a_url_says_so(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.model_validate(
        {"understanding": {"llm": "server", "llm_model": "no-such-model"}}
    )
    assert describe_fallback(settings) == "no-such-model"  # the local model only
    assert make_fallback(settings) is None
    assert "[llm_server] url is not set" in caplog.text
