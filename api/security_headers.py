"""Security headers on every answer the app gives, whichever route or mount gave it.

- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin`` everywhere: JSON,
  GeoJSON, tiles, photos and audio are never reinterpreted by a browser as something else
  (an uploaded photo as a page), and links out of the console do not carry its URLs.
- An HTML answer that sets no Content-Security-Policy of its own (the duty report, error
  pages) gets :data:`DOCUMENT_POLICY`: no scripts at all, its own inline styles and images,
  and no framing by other sites. The built pages (api/web.py) and ``/docs`` (api/docs.py) set
  their own policies, which are left as they are.

Pure ASGI, so event streams pass through unbuffered.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCUMENT_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ]
)
DEFAULTS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]


class SecurityHeadersMiddleware:
    """Add the headers above to each response start that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in DEFAULTS if name not in present]
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html") and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", DOCUMENT_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
