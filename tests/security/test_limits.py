"""Rate limits (writes: 429 with Retry-After; sign-in: 429) and body limits (413 for a large
Content-Length and for a chunked body that grows past the limit; photo count and size)."""

from __future__ import annotations

import io
import select
import socket
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from tests.security.conftest import Server

# Written out here: README "up to 6 JPEG/PNG/WebP photos", 10 MB each (geo/reports.py), so a
# report's body may reach 6 × 10 MiB + 1 MiB of fields; other writes are JSON under 1 MiB.
MAX_PHOTOS = 6
PHOTO_BYTES = 10 * 2**20
REPORT_BODY = MAX_PHOTOS * PHOTO_BYTES + 2**20
JSON_BODY = 2**20


@pytest.fixture(scope="module")
def api(make_server) -> Server:
    return make_server(write_rate_limit="3/minute", login_rate_limit="3/minute")


def _auth(api: Server, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.tokens[role]}"}


def test_writes_beyond_the_limit_are_429_with_retry_after(api: Server) -> None:
    url = f"{api.base_url}/api/duty/handovers"
    forecaster = _auth(api, "forecaster")
    codes = [httpx.post(url, json={}, headers=forecaster).status_code for _ in range(3)]
    assert codes == [422, 422, 422]  # through the role check and the limit, then the body
    r = httpx.post(url, json={}, headers=_auth(api, "forecaster"))
    assert r.status_code == 429, r.text
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # per user: another user's allowance is untouched
    assert httpx.post(url, json={}, headers=_auth(api, "commander")).status_code == 422


def test_failed_sign_ins_beyond_the_limit_are_429(api: Server) -> None:
    url = f"{api.base_url}/api/session"
    bad = {"name": "sec-viewer", "password": "not-the-password"}
    codes = [httpx.post(url, json=bad).status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    r = httpx.post(url, json=bad)
    assert r.status_code == 429, r.text


def _raw(api: Server, head: bytes, chunks, limit: int) -> bytes:
    """Send a request by hand (headers, then body pieces until the server answers) and
    return the status line. The server must answer before the whole body has gone."""
    parts = urlsplit(api.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        s.sendall(head)
        sent = 0
        try:
            for piece in chunks:
                if select.select([s], [], [], 0)[0]:
                    break  # the answer is here
                s.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        while b"\r\n" not in answer:
            more = s.recv(65536)
            if not more:
                break
            answer += more
    # socket buffers on loopback hold a few MiB; the body offered runs 64 MiB past the limit
    assert sent <= limit + 2**25, f"the server waited for {sent} bytes of a body over {limit}"
    return answer.split(b"\r\n", 1)[0]


def _head(api: Server, path: str, role: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {api.tokens[role]}\r\n{extra}\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("path", "limit"), [("/api/reports", REPORT_BODY), ("/api/warnings", JSON_BODY)]
)
def test_a_large_content_length_is_413_before_the_body(api: Server, path: str, limit: int) -> None:
    length = f"Content-Type: application/json\r\nContent-Length: {limit + 1}\r\n"
    head = _head(api, path, "admin", length)
    status = _raw(api, head, [b"{"], limit)
    assert status.split()[1] == b"413", status


@pytest.mark.parametrize(
    ("path", "limit", "ctype"),
    [
        ("/api/reports", REPORT_BODY, "application/json"),
        ("/api/reports", REPORT_BODY, "multipart/form-data; boundary=xyz"),
        ("/api/warnings", JSON_BODY, "application/json"),
    ],
)
def test_a_chunked_body_past_the_limit_is_413(
    api: Server, path: str, limit: int, ctype: str
) -> None:
    head = _head(api, path, "admin", f"Content-Type: {ctype}\r\nTransfer-Encoding: chunked\r\n")
    piece = b" " * 2**20
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    start = b""
    if ctype.startswith("multipart"):  # a well-formed photo part that never ends
        start = (
            b'--xyz\r\nContent-Disposition: form-data; name="photos"; filename="a.png"\r\n'
            b"Content-Type: image/png\r\n\r\n"
        )
    first = f"{len(start):x}\r\n".encode() + start + b"\r\n" if start else b""
    endless = [first] + [chunk] * (limit // len(piece) + 64)  # 64 MiB past the limit
    status = _raw(api, head, endless, limit)
    assert status.split()[1] == b"413", status


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_more_than_six_photos_are_refused(api: Server) -> None:
    files = [("photos", (f"p{i}.png", _png(), "image/png")) for i in range(MAX_PHOTOS + 1)]
    r = httpx.post(
        f"{api.base_url}/api/reports",
        headers=_auth(api, "reporter"),
        data={"kind": "flood"},
        files=files,
        timeout=30,
    )
    assert r.status_code == 422, r.text
    assert any("photos" in e["loc"] for e in r.json()["detail"]), r.text


def test_a_photo_over_ten_megabytes_is_refused(api: Server) -> None:
    big = _png() + b"\0" * PHOTO_BYTES  # still a PNG at its head; one byte per byte too many
    r = httpx.post(
        f"{api.base_url}/api/reports",
        headers=_auth(api, "reporter"),
        data={"kind": "flood"},
        files=[("photos", ("big.png", big, "image/png"))],
        timeout=60,
    )
    assert r.status_code == 422, r.text
    assert any(e["loc"][-1] == "photos[1]" for e in r.json()["detail"]), r.text
