"""Model servers for the server-mode tests and bench/llm_server.py, on loopback.

- `llama_server`: llama-cpp-python's own OpenAI-compatible server
  (``python -m llama_cpp.server``) on an embedded GGUF, in a process the
  caller owns; its access log tells which requests it answered.
- `model_peer`: a plain HTTP server that answers chat completions as a test
  scripts: a model server that misbehaves (hangs, errors, sends garbage or an
  answer the validator must refuse); it records what the assistant sent
  (headers, body), so tests can read the wire.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.conftest import free_port


@dataclass
class LlamaServer:
    """llama-cpp-python's OpenAI-compatible server, in a process the caller owns."""

    port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def answered(self) -> int:
        """Chat completions the server answered with 200, from its access log."""
        text = self.log.read_text(errors="replace")
        return text.count('"POST /v1/chat/completions HTTP/1.1" 200')

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@contextmanager
def llama_server(
    model: Path, workdir: Path, api_key: str, *, threads: int = 2
) -> Iterator[LlamaServer]:
    """Start the server on `model` on a free loopback port; wait until it answers."""
    port = free_port()
    log = workdir / f"llama-server-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "llama_cpp.server",
                "--model", str(model),
                "--host", "127.0.0.1", "--port", str(port),
                "--n_ctx", "4096", "--n_threads", str(threads),
                "--api_key", api_key,
            ],
            stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = LlamaServer(port, log, process)
    try:
        _wait_ready(server, api_key)
        yield server
    finally:
        server.stop()


def _wait_ready(server: LlamaServer, api_key: str) -> None:
    request = urllib.request.Request(
        f"{server.url}/models", headers={"Authorization": f"Bearer {api_key}"}
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited: {server.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(request, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("llama_cpp.server did not start")


def completion(content: str, finish: str = "stop") -> bytes:
    """An OpenAI chat completion whose message is `content`."""
    return json.dumps(
        {
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish,
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 9, "total_tokens": 109},
        }
    ).encode()


@dataclass
class Peer:
    """What the peer answers next, and what it was sent."""

    status: int = 200
    body: bytes = field(default_factory=lambda: completion('{"intent":"none"}'))
    hang: bool = False
    requests: list[tuple[dict[str, str], Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


@contextmanager
def model_peer() -> Iterator[Peer]:
    """Serve a `Peer` on a free loopback port until the block ends."""
    peer = Peer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            peer.requests.append((dict(self.headers), json.loads(self.rfile.read(length))))
            if peer.hang:
                peer.release.wait(30)
                return
            self.send_response(peer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(peer.body)))
            self.end_headers()
            self.wfile.write(peer.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    peer.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="model-peer", daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        peer.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
