"""A minimal OpenAI-compatible chat server on 127.0.0.1 for testing the remote backend.

It answers ``POST /v1/chat/completions`` (plain JSON, or server-sent events when
``"stream": true``) with scripted replies, and records every request body so
tests can check what the client sent (messages, guided-decoding schema, ...)::

    with OpenAIServer(replies=['{"name": "add", "arguments": {"a": 1}}']) as server:
        chat = ChatBioMedGPTRemote(base_url=server.base_url, model="m")
        ...
        server.requests[0]["structured_outputs"]

Replies are consumed in order (the last one repeats). A reply such as ``"!404"``
answers with that HTTP status instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["OpenAIServer"]


class OpenAIServer:
    """Scripted ``/v1/chat/completions`` on an ephemeral loopback port."""

    def __init__(self, replies: Sequence[str], *, model: str = "biomedgpt-test") -> None:
        self.replies = list(replies)
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """URL up to ``/v1``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _next_reply(self) -> str:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                server.requests.append(body)
                reply = server._next_reply()
                if self.path != "/v1/chat/completions" or reply.startswith("!"):
                    status = int(reply[1:]) if reply.startswith("!") else 404
                    self._send(status, {"error": {"message": "scripted failure", "code": status}})
                    return
                usage = {
                    "prompt_tokens": sum(len(m["content"].split()) for m in body["messages"]),
                    "completion_tokens": len(reply.split()),
                }
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                if body.get("stream"):
                    self._stream(reply, usage)
                else:
                    message = {"role": "assistant", "content": reply}
                    choice = {"index": 0, "message": message, "finish_reason": "stop"}
                    self._send(200, self._envelope("chat.completion", [choice], usage))

            def _envelope(self, kind: str, choices: list[Any], usage: Any) -> dict[str, Any]:
                return {
                    "id": "chatcmpl-test",
                    "object": kind,
                    "created": 0,
                    "model": server.model,
                    "choices": choices,
                    "usage": usage,
                }

            def _stream(self, reply: str, usage: dict[str, int]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [reply[i : i + 3] for i in range(0, len(reply), 3)]
                for piece in pieces:
                    delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                    self._event(self._envelope("chat.completion.chunk", [delta], None))
                end = {"index": 0, "delta": {}, "finish_reason": "stop"}
                self._event(self._envelope("chat.completion.chunk", [end], None))
                self._event(self._envelope("chat.completion.chunk", [], usage))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
