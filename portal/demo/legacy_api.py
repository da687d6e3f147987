"""The demo's old help desk and CRM: paginated JSON APIs served on loopback.

    GET /helpdesk/tickets/?updated_since=<iso>&page=<n>
    GET /crm/accounts/?updated_since=<iso>&page=<n>
    GET /billing/pay/<invoice number>     billing's payment page (HTML, no token)

The two APIs want `Authorization: Bearer <DEMO_LEGACY_API_TOKEN>`, answer
`{"results": [...], "next": <url or null>}` in pages of 50 ordered by
`updated_at`, and read their data from JSON files the estate generator wrote.
"""

from __future__ import annotations

import html
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

PAGE_SIZE = 50
ROUTES = {"/helpdesk/tickets/": "helpdesk_tickets.json", "/crm/accounts/": "crm_accounts.json"}
PAY_PREFIX = "/billing/pay/"
PAY_PAGE = (
    "<!doctype html><html lang=en><title>Billing: pay invoice {number}</title>"
    "<h1>Pay invoice {number}</h1><p>The demo billing system's payment page: in a real "
    "estate the billing system takes the payment here, and the portal shows it as paid "
    "after its next sync.</p></html>"
)
DEFAULT_PORT = int(os.environ.get("DEMO_LEGACY_API_PORT", "8701"))


def token() -> str:
    return os.environ.get("DEMO_LEGACY_API_TOKEN", "demo-legacy-token")


def _handler(directory: Path):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlsplit(self.path)
            if url.path.startswith(PAY_PREFIX):  # a customer's browser, sent by the portal
                return self._pay_page(url.path.removeprefix(PAY_PREFIX))
            if self.headers.get("Authorization") != f"Bearer {token()}":
                return self._json(401, {"detail": "bad token"})
            if url.path not in ROUTES:
                return self._json(404, {"detail": "not found"})
            query = parse_qs(url.query)
            since = query.get("updated_since", [""])[0]
            page = int(query.get("page", ["1"])[0])
            rows = json.loads((directory / ROUTES[url.path]).read_text())
            rows = sorted(
                (r for r in rows if r["updated_at"] >= since), key=lambda r: r["updated_at"]
            )
            chunk = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
            more = page * PAGE_SIZE < len(rows)
            host, port = self.server.server_address[:2]
            params = urlencode({"updated_since": since, "page": page + 1})
            next_url = f"http://{host}:{port}{url.path}?{params}" if more else None
            return self._json(200, {"results": chunk, "next": next_url})

        def _pay_page(self, number: str):
            page = PAY_PAGE.format(number=html.escape(number)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def _json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # quiet: the demo prints its own summary
            pass

    return Handler


def serve(directory: Path, port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    return ThreadingHTTPServer(("127.0.0.1", port), _handler(directory))


def serve_in_thread(directory: Path, port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    server = serve(directory, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
