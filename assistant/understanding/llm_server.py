"""The fallback model on another machine: an OpenAI-compatible server on the LAN.

`[understanding] llm = "server"`: a household with a stronger machine runs a
larger model there (llama.cpp's server, Ollama, vLLM) and the assistant asks
it where it would ask the local model.  Only the transport differs:

- the prompt is the local model's (`prompt.build_messages`: the same header,
  intents, names and few-shot examples, as chat messages);
- the output is constrained by the same language, sent as a GBNF ``grammar``
  (llama.cpp) or an OpenAI ``response_format`` JSON schema (Ollama, vLLM),
  built from the intents and the names the sentence spells out (`focus`);
- the answer is parsed and validated by `parse_output`, exactly as the local
  model's, so a server that ignores the constraint cannot make anything run.

When the server cannot answer (refused, timed out, an HTTP error, an answer
that is not a chat completion) the local model answers instead, with one
log line saying why.  The server is then left alone for a while (capped,
jittered backoff), so a machine that is switched off does not cost every
sentence a timeout.  Requests run in daemon threads, waited for
``timeout_seconds`` of wall-clock time: nothing left hanging on a silent
server holds up the assistant or its shutdown.

An answer that fails validation is refused like the local model's: the
bigger model has spoken, a smaller one would not be more right.  The URL
and the token are never logged (the token goes only into the
``Authorization`` header).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from assistant.config_llm_server import LlmServerConfig
from assistant.textsafe import clean
from assistant.understanding.calls import IntentCall, IntentSchema, Vocabulary
from assistant.understanding.fallback import LlmBackend
from assistant.understanding.fewshot import default_examples
from assistant.understanding.grammar import build_grammar, focus, parse_output
from assistant.understanding.json_schema import build_json_schema
from assistant.understanding.llm import MAX_TOKENS, LlmResult, LlmTimings
from assistant.understanding.prompt import build_messages
from assistant.understanding.validate import InvalidCall

__all__ = ["SERVER", "ServerBackend", "ServerUnavailable", "chat_url"]

log = logging.getLogger(__name__)

SERVER = "the model server ([llm_server] url)"
"""How logs name the server: its URL may hold credentials and is never logged."""
MAX_ANSWER_BYTES = 1 << 20  # a chat completion of MAX_TOKENS tokens is a few kB
RETRY_FIRST = 5.0  # s before a server that failed is asked again
RETRY_CAP = 60.0
# Warming is a one-off like the local model's (which has no limit): a server on
# CPUs only can take a minute over a cold prompt of a couple of thousand tokens.
WARM_TIMEOUT = 300.0
_WARM_SENTENCE = "hello"


class ServerUnavailable(Exception):
    """The server gave no model answer; str() says why in one line (no URL, no token)."""


def chat_url(base: str) -> str:
    """The chat completions endpoint under an OpenAI-style base URL (no path: /v1)."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path + "/chat/completions", parts.query, ""))


class ServerBackend:
    """An `LlmBackend` that asks the model server first, the local model when it cannot."""

    def __init__(
        self,
        config: LlmServerConfig,
        local: LlmBackend | None,
        *,
        retry_first: float = RETRY_FIRST,
        retry_cap: float = RETRY_CAP,
    ) -> None:
        if not config.url:
            raise ValueError("[llm_server] url is not set")
        self.config = config
        self.local = local
        self._url = chat_url(config.url)
        # No proxy from the environment: the request goes where the config says.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._retry_first = retry_first
        self._retry_cap = retry_cap
        self._lock = threading.Lock()
        self._down = False  # the last request failed
        self._delay = 0.0  # current backoff
        self._retry_at = 0.0
        self._examples_for: tuple[IntentSchema, ...] | None = None
        self._examples: list[tuple[str, list[IntentCall]]] = []

    # ------------------------------------------------------------ the LlmBackend

    def warm(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> LlmTimings:
        """Have the server cache the prompt (in the background); warm the local model now.

        Nobody waits for the server's part: a cold prompt can take a CPU-only
        server a minute, and a thread waiting for it would hold up shutdown.
        """
        body = self._body(_WARM_SENTENCE, schemas, vocabulary, max_tokens=1)
        threading.Thread(
            target=self._warm_server, args=(body,), name="llm-server-warm", daemon=True
        ).start()
        if self.local is not None:
            return self.local.warm(schemas, vocabulary)
        return LlmTimings()

    def close(self) -> None:
        """Free the local model (the server's requests are daemon threads)."""
        if self.local is not None:
            self.local.close()

    def _warm_server(self, body: dict[str, Any]) -> None:
        try:
            self._request(body, max(WARM_TIMEOUT, self.config.timeout_seconds))
        except ServerUnavailable as exc:
            self._failed(exc)
        else:
            self._answered()

    def parse(
        self, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
    ) -> LlmResult:
        """Sentence -> validated calls from the server, else from the local model; never raises."""
        if not self._due():
            return self._ask_local(text, schemas, vocabulary, None)
        started = time.perf_counter()
        try:
            body = self._body(text, schemas, vocabulary, max_tokens=MAX_TOKENS)
            answer = self._request(body, self.config.timeout_seconds)
            raw, finish, usage = _content(answer)
        except ServerUnavailable as exc:
            return self._ask_local(text, schemas, vocabulary, exc)
        self._answered()
        total = (time.perf_counter() - started) * 1000
        timings = LlmTimings(
            total_ms=total,
            prompt_ms=total,  # the server's own split is not in the answer
            prompt_tokens=usage.get("prompt_tokens", 0),
            generated_tokens=usage.get("completion_tokens", 0),
        )
        if finish == "length":
            error = f"model server output exceeded {MAX_TOKENS} tokens"
            return LlmResult(raw=raw, timings=timings, error=error)
        try:
            calls = parse_output(raw, schemas, vocabulary)
        except InvalidCall as problem:
            error = f"invalid model server output: {problem}"
            return LlmResult(raw=raw, timings=timings, error=error)
        return LlmResult(calls=tuple(calls), raw=raw, timings=timings)

    # ------------------------------------------------------------ fallback and backoff

    def _ask_local(
        self,
        text: str,
        schemas: Sequence[IntentSchema],
        vocabulary: Vocabulary,
        problem: ServerUnavailable | None,
    ) -> LlmResult:
        if problem is not None:
            self._failed(problem)
        if self.local is None:
            return LlmResult(error=f"{SERVER} cannot answer and no local model is loaded")
        return self.local.parse(text, schemas, vocabulary)

    def _due(self) -> bool:
        with self._lock:
            return time.monotonic() >= self._retry_at

    def _answered(self) -> None:
        with self._lock:
            if self._down:
                log.info("%s answers again", SERVER)
            self._down = False
            self._delay = 0.0
            self._retry_at = 0.0

    def _failed(self, problem: ServerUnavailable) -> None:
        then = "using the local model" if self.local else "no local model to ask"
        with self._lock:
            self._down = True
            self._delay = min(self._retry_cap, max(self._retry_first, self._delay * 2))
            wait = self._delay * random.uniform(0.8, 1.2)
            self._retry_at = time.monotonic() + wait
        log.warning("%s %s; %s (asked again in %.0f s)", SERVER, problem, then, wait)

    # ------------------------------------------------------------ the wire

    def _body(
        self,
        text: str,
        schemas: Sequence[IntentSchema],
        vocabulary: Vocabulary,
        *,
        max_tokens: int,
    ) -> dict[str, Any]:
        """The chat completion request: the local model's prompt and constraint."""
        schemas = tuple(schemas)
        if self._examples_for != schemas:  # examples depend on the intents only
            self._examples = default_examples(schemas)
            self._examples_for = schemas
        body: dict[str, Any] = {
            "messages": build_messages(schemas, vocabulary, self._examples, text),
            "temperature": 0.0,
            "max_tokens": max_tokens,
            "stream": False,
        }
        if self.config.model:
            body["model"] = self.config.model
        names = focus(vocabulary, text)
        if self.config.constraint == "grammar":
            body["grammar"] = build_grammar(schemas, names)
        else:
            schema = {"name": "intent_calls", "schema": build_json_schema(schemas, names)}
            body["response_format"] = {"type": "json_schema", "json_schema": schema}
        return body

    def _request(self, body: dict[str, Any], timeout: float) -> Any:
        """POST `body`; the decoded JSON answer, or ServerUnavailable saying why.

        The exchange runs in a daemon thread and is waited for `timeout` s of
        wall-clock time at most (a socket timeout alone bounds each read, not
        a server that trickles); a thread left behind ends with its socket.
        """
        done = threading.Event()
        outcome: list[Any] = []

        def exchange() -> None:
            try:
                outcome.append(self._exchange(body, timeout))
            except ServerUnavailable as exc:
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=exchange, name="llm-server-request", daemon=True).start()
        if not done.wait(timeout):
            raise ServerUnavailable(f"timed out after {timeout:g} s")
        if isinstance(outcome[0], ServerUnavailable):
            raise outcome[0]
        return outcome[0]

    def _exchange(self, body: dict[str, Any], timeout: float) -> Any:
        request = urllib.request.Request(
            self._url,
            data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        if self.config.token:
            # Unredirected: the token goes to this URL only, never to a redirect's target.
            request.add_unredirected_header("Authorization", f"Bearer {self.config.token}")
        try:
            with self._opener.open(request, timeout=timeout) as response:
                data = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as error:
            with error:
                detail = _error_detail(error.read(MAX_ANSWER_BYTES))
            raise ServerUnavailable(f"answered HTTP {error.code}{detail}") from None
        except TimeoutError:
            raise ServerUnavailable(f"timed out after {timeout:g} s") from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, TimeoutError):
                raise ServerUnavailable(f"timed out after {timeout:g} s") from None
            raise ServerUnavailable(f"cannot be reached ({_reason(reason)})") from None
        except (HTTPException, OSError) as error:  # reset, closed mid-answer
            raise ServerUnavailable(f"broke off its answer ({_reason(error)})") from None
        if len(data) > MAX_ANSWER_BYTES:
            raise ServerUnavailable(f"sent an answer over {MAX_ANSWER_BYTES} bytes")
        try:
            return json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ServerUnavailable("answered with something that is not JSON") from None


def _content(answer: Any) -> tuple[str, str | None, dict[str, int]]:
    """(text, finish reason, token counts) of a chat completion, or ServerUnavailable."""
    try:
        choice = answer["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ServerUnavailable("answered with something that is not a chat completion") from None
    if not isinstance(content, str):
        raise ServerUnavailable("answered a chat completion without text")
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    usage = answer.get("usage") if isinstance(answer, dict) else None
    counts = {
        key: value
        for key, value in (usage.items() if isinstance(usage, dict) else ())
        if isinstance(value, int)
    }
    return content.strip(), finish if isinstance(finish, str) else None, counts


def _reason(error: object) -> str:
    """An OS or HTTP error without its errno prefix, short and printable."""
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return clean(text or type(error).__name__, 120)


def _error_detail(body: bytes) -> str:
    """': message' from an OpenAI-style error body, if there is one."""
    try:
        decoded = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    message: object = None
    if isinstance(decoded, dict):
        error = decoded.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        message = message or decoded.get("detail")
    return f": {clean(message, 160)}" if isinstance(message, str) and message else ""
