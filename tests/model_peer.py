"""A real HTTP server on loopback that answers chat completions as a test scripts.

It stands for a model server that misbehaves (hangs, errors, sends garbage or
an answer the validator must refuse) and records what the assistant sent
(headers, body), so tests can read the wire.  Tests against a real model
server start llama.cpp's own (tests/test_llm_server_live.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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
