"""The optional online basemap (e.g. Tianditu with a key): off by default (the other web tests
prove no request leaves the server), and when configured its tiles are drawn under the map and
the pages' Content-Security-Policy admits that one host. The "online" tile server is a stand-in
for a third party we cannot reach: a small real HTTP server on loopback, counting requests."""

from __future__ import annotations

import io
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
from PIL import Image

from tests.web.conftest import WebService

TILE = re.compile(r"^/vec/(\d+)/(\d+)/(\d+)\.png\?tk=test-key$")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 230, 255)).save(out, format="PNG")
    return out.getvalue()


class _Tiles(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []
    body = _png()

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        self.send_response(200 if TILE.match(self.path) else 404)
        self.send_header("Content-Type", "image/png")
        # as tile services meant for web maps answer (MapLibre fetches tiles with CORS)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        return None


def test_configured_online_basemap_is_drawn_under_the_map(browser, web_service) -> None:
    tiles = ThreadingHTTPServer(("127.0.0.1", 0), _Tiles)
    threading.Thread(target=tiles.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{tiles.server_port}"
    settings = web_service.settings.model_copy(
        update={"online_basemap": origin + "/vec/{z}/{x}/{y}.png?tk=test-key"}
    )
    service = WebService(db_url=web_service.db_url, settings=settings)
    service.start()
    try:
        with httpx.Client(base_url=service.base_url) as c:
            assert c.get("/api/web-config").json() == {
                "online_basemap": {
                    "tiles": [origin + "/vec/{z}/{x}/{y}.png?tk=test-key"],
                    "attribution": "天地图 Tianditu",
                }
            }
            csp = c.get("/").headers["content-security-policy"]
        assert f"img-src 'self' data: blob: {origin}" in csp
        assert f"connect-src 'self' {origin}" in csp
        context = browser.new_context(viewport={"width": 1024, "height": 768})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(service.base_url + "/wall")
        page.wait_for_function(
            "() => window.riskmapMap && window.riskmapMap.getLayer('online-basemap')"
            " && window.riskmapMap.areTilesLoaded()",
            timeout=30000,
        )
        for _ in range(150):  # the map asks for the tiles it shows (within 30 s)
            if any(TILE.match(p) for p in _Tiles.requests):
                break
            page.wait_for_timeout(200)
        page.wait_for_function("() => window.riskmapMap.areTilesLoaded()", timeout=30000)
        order = page.evaluate("() => window.riskmapMap.getStyle().layers.map(l => l.id)")
        context.close()
    finally:
        service.stop()
        tiles.shutdown()
    assert any(TILE.match(p) for p in _Tiles.requests), _Tiles.requests
    # under the hillshade and every data layer
    assert order.index("online-basemap") < order.index("hillshade") < order.index("warnings-fill")
    assert errors == []


def test_no_online_basemap_by_default(web_service) -> None:
    with httpx.Client(base_url=web_service.base_url) as c:
        assert c.get("/api/web-config").json() == {"online_basemap": None}
        csp = c.get("/").headers["content-security-policy"]
    assert "connect-src 'self';" in csp and "img-src 'self' data: blob:;" in csp
