"""A feed publisher on loopback for the ingest runner's tests: an ATOM index and the CAP
messages it links to, or anything else the test puts in its routes."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RouteHost:
    """Answers ``routes``: bytes (200) or ("redirect", location) (302); anything else 404."""

    def __init__(self, routes: dict[str, bytes | tuple[str, str]]) -> None:
        self.routes = routes
        self.requests: list[str] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.requests.append(self.path)
                body = host.routes.get(self.path)
                if isinstance(body, tuple):
                    self.send_response(302)
                    self.send_header("Location", body[1])
                    self.end_headers()
                    return
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                if body is not None:
                    self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
