"""A tiny real HTTP server for connector tests: canned responses per path, on 127.0.0.1.

    with ApiServer(token="secret") as api:
        api.route("/items", (200, {"results": [], "next": None}))
        ... api.url("/items") ...

Each route answers its responses in order and repeats the last one. Requests
without `Authorization: Bearer <token>` get 401. Every request is recorded.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int
    body: Any  # a str is sent as it is, anything else as JSON
    delay: float = 0.0  # seconds to wait before answering, to provoke read timeouts


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    authorization: str | None


@dataclass
class ApiServer:
    token: str | None  # None: an open API that asks for no token
    routes: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __enter__(self) -> ApiServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the loop to notice it.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def route(self, path: str, *replies: Reply | tuple[int, Any]) -> None:
        self.routes[path] = [r if isinstance(r, Reply) else Reply(*r) for r in replies]

    def hits(self, path: str) -> int:
        return sum(request.path == path for request in self.requests)

    def reply_for(self, path: str) -> Reply:
        replies = self.routes.get(path)
        if not replies:
            return Reply(404, {"detail": "not found"})
        return replies.pop(0) if len(replies) > 1 else replies[0]


def _handler_for(api: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            authorization = self.headers.get("Authorization")
            api.requests.append(Request(parts.path, parse_qs(parts.query), authorization))
            if api.token is not None and authorization != f"Bearer {api.token}":
                reply = Reply(401, {"detail": "bad token"})
            else:
                reply = api.reply_for(parts.path)
            time.sleep(reply.delay)
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
            data = body.encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            # The client may have given up (a read timeout): that was the point.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `api.requests` instead."""

    return Handler
