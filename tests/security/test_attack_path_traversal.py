"""Path traversal: files outside what the service serves or ingests are never read.

Secret files are planted beside the web folder, beside the data folder and in it; their access
time is set to 1970 (the file system is mounted relatime, so any read moves it to now), which
tells "refused" apart from "read but not shown". Then:

- over HTTP, raw requests (no client-side normalisation of ``..``) with every common encoding
  of ``../`` and of absolute paths go to each file-serving route: the pages' assets and other
  built files, Swagger UI's files, report photos, broadcast audio (real and drill);
- a photo uploaded under a name such as ``../../x.png`` is stored under the report's folder;
- the ingest runner meets a symbolic link in its drop folder pointing outside, a GDAL virtual
  dataset disguised as a GeoPackage or Shapefile whose source is a file outside, and CAP links
  from a remote feed whose names try to climb out of the downloads folder (or hold a NUL,
  which stopped the runner).
"""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from PIL import Image

from riskmap.api.audio import tts
from riskmap.ingest.pipeline import ingest_file
from riskmap.ingest.runner import Runner
from riskmap.ingest.sources import Source
from tests.dispatch import delivery_setup as ds
from tests.security.conftest import Server

MARK = f"ATTACK-SECRET-{uuid.uuid4().hex}"
PASSWD = b"root:x:0:0"


def plant(path: Path) -> Path:
    """A secret file whose access time shows whether anything read it."""
    path.write_text(f"{MARK}\n", encoding="utf-8")
    untouched(path)
    return path


def untouched(path: Path) -> None:
    os.utime(path, (0, time.time()))


def was_read(path: Path) -> bool:
    """Whether anything read ``path`` since ``untouched`` (always False, with a warning, where
    the file system keeps no access times)."""
    if not atime_tracked(path.parent):
        warnings.warn(f"{path.parent}: no access times here; reads go unseen", stacklevel=2)
        return False
    return path.stat().st_atime > 1


def atime_tracked(folder: Path) -> bool:
    """Whether reading a file moves its access time in ``folder`` (relatime, not noatime)."""
    probe = folder / f".atime-probe-{uuid.uuid4().hex}"
    probe.write_text("probe", encoding="utf-8")
    untouched(probe)
    probe.read_text(encoding="utf-8")
    tracked = probe.stat().st_atime > 1
    probe.unlink()
    return tracked


# -- HTTP ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(make_server, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("attack-site")
    web = root / "webapp"
    (web / "assets").mkdir(parents=True)
    (web / "fonts" / "Noto Sans Regular").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>t</title>", encoding="utf-8")
    (web / "assets" / "app-abc.js").write_text("console.log(1)\n", encoding="utf-8")
    (web / "fonts" / "Noto Sans Regular" / "0-255.pbf").write_bytes(b"\x0a\x00")
    (web / "favicon.svg").write_text("<svg/>", encoding="utf-8")
    api = make_server(web_dir=web, write_rate_limit="100000/minute")
    data_dir = api.server.config.app.state.settings.data_dir
    secrets = [plant(root / "attack-secret.txt"), plant(data_dir.parent / "attack-secret.txt")]
    secrets.append(plant(data_dir / "attack-secret.txt"))
    wid = ds.publish(api.db_url, ds.villages(api.db_url)[:1], rule="attack-traversal")
    with psycopg.connect(api.db_url) as conn:
        (bid,) = conn.execute(
            "SELECT id FROM outbox WHERE warning_id = %s AND channel = 'broadcast' LIMIT 1", [wid]
        ).fetchone()
    rid, photo = _report_with_photo(api, "../../../../../../../../tmp/attack-evil.png")
    for s in secrets:
        untouched(s)
    return {
        "api": api,
        "secrets": secrets,
        "bid": bid,
        "rid": rid,
        "photo": photo,
        "data": data_dir,
    }


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def _report_with_photo(api: Server, filename: str) -> tuple[int, bytes]:
    with psycopg.connect(api.db_url) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(label_point), ST_Y(label_point) FROM village ORDER BY code LIMIT 1"
        ).fetchone()
    form = {
        "kind": "flood",
        "lon": str(lon),
        "lat": str(lat),
        "observed_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "text": "traversal test",
    }
    data = _png()
    r = httpx.post(
        f"{api.base_url}/api/reports",
        headers={"Authorization": f"Bearer {api.tokens['reporter']}"},
        data=form,
        files=[("photos", (filename, data, "image/png"))],
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], data


def raw_get(base: str, target: str, token: str | None = None) -> tuple[int, bytes]:
    """GET ``target`` exactly as written (httpx would resolve ``..`` before sending)."""
    parts = urlsplit(base)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        s.sendall(head.encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


UP = ["../", "..%2f", "..%2F", "%2e%2e/", "%2e%2e%2f", "..%5c", "..\\", "%252e%252e%252f",
      "....//", "..;/", ".%2e/", "%2e./", "%c0%ae%c0%ae/", "..%c0%af", "..%00/"]  # fmt: skip


def _targets(site: dict) -> list[str]:
    rid, bid = site["rid"], site["bid"]
    prefixes = [
        "/assets/",
        "/fonts/",
        "/fonts/Noto%20Sans%20Regular/",
        "/docs-assets/",
        "/favicon.svg/",
        "/",
        f"/api/reports/{rid}/photos/",
        f"/api/reports/{rid}/photos/1/",
        "/api/reports/",
        f"/api/broadcasts/{bid}/audio.",
        f"/api/broadcasts/{bid}/",
        f"/api/drills/1/broadcasts/{bid}/audio.",
    ]
    out = []
    for prefix in prefixes:
        for up in UP:
            for depth in (1, 2, 3, 4, 6, 9):
                out.append(prefix + up * depth + "attack-secret.txt")
            out.append(prefix + up * 12 + "etc/passwd")
        for absolute in ("/etc/passwd", "%2fetc%2fpasswd", "%2Fetc%2Fpasswd", "file:///etc/passwd"):
            out.append(prefix + absolute)
        for secret in site["secrets"]:
            out.append(prefix + str(secret).replace("/", "%2f"))
            out.append(prefix + str(secret))
    return out


def test_no_file_route_serves_or_reads_a_file_outside(site: dict) -> None:
    api: Server = site["api"]
    targets = _targets(site)
    assert len(targets) > 1000
    bad = []
    for target in targets:
        status, answer = raw_get(api.base_url, target, api.tokens["admin"])
        if status >= 500 or MARK.encode() in answer or PASSWD in answer:
            bad.append(f"{target}: {status} {answer[:160]!r}")
    assert not bad, "\n".join(bad[:30])
    read = [str(s) for s in site["secrets"] if was_read(s)]
    assert not read, f"read though never served: {read}"
    # the routes are alive: refusals above are not a dead server
    ok = [f"/api/reports/{site['rid']}/photos/1", "/assets/app-abc.js", "/favicon.svg"]
    assert [raw_get(api.base_url, t, api.tokens["admin"])[0] for t in ok] == [200] * 3


def test_an_uploaded_file_name_never_chooses_where_the_photo_goes(site: dict) -> None:
    api: Server = site["api"]
    assert not Path("/tmp/attack-evil.png").exists()
    stored = sorted(p for p in site["data"].rglob("*") if p.is_file() and p.suffix == ".png")
    assert stored == [site["data"] / "reports" / str(site["rid"]) / "1.png"]
    assert stored[0].read_bytes() == site["photo"]
    r = httpx.get(
        f"{api.base_url}/api/reports/{site['rid']}/photos/1",
        headers={"Authorization": f"Bearer {api.tokens['viewer']}"},
    )
    assert r.status_code == 200 and r.content == site["photo"]


def test_a_photo_path_changed_in_the_database_is_not_followed(site: dict) -> None:
    """The stored path is trusted only inside the report's own folder: a row rewritten by
    someone with database access (or a bad restore) to point at a secret, at an absolute path
    or into another report's folder is 404, and nothing outside is read."""
    api: Server = site["api"]
    rid, data = site["rid"], site["data"]
    (data / "reports" / "999999").mkdir()
    foreign = plant(data / "reports" / "999999" / "1.webp")  # another report's folder
    tampered = [
        "../attack-secret.txt",
        str(data.parent / "attack-secret.txt"),
        f"reports/{rid}/../../../attack-secret.txt",
        "reports/999999/1.webp",
    ]
    for s in [*site["secrets"], foreign]:
        untouched(s)
    viewer = {"Authorization": f"Bearer {api.tokens['viewer']}"}
    url = f"{api.base_url}/api/reports/{rid}/photos/1"
    answers = []
    with psycopg.connect(api.db_url, autocommit=True) as conn:
        (kept,) = conn.execute(
            "SELECT path FROM field_report_photo WHERE report_id = %s AND n = 1", [rid]
        ).fetchone()
        move = "UPDATE field_report_photo SET path = %s WHERE report_id = %s AND n = 1"
        try:
            for path in tampered:
                conn.execute(move, [path, rid])
                r = httpx.get(url, headers=viewer)
                answers.append((path, r.status_code, MARK.encode() in r.content))
        finally:
            conn.execute(move, [kept, rid])
            foreign.unlink()
            foreign.parent.rmdir()
    assert answers == [(p, 404, False) for p in tampered]
    assert not [str(s) for s in site["secrets"] if was_read(s)]
    r = httpx.get(url, headers=viewer)  # served again once its row is right
    assert r.status_code == 200 and r.content == site["photo"]


def test_the_audio_cache_takes_no_path_from_its_caller(tmp_path: Path) -> None:
    """Second line behind the route's ``wav|mp3``: the cache itself refuses other formats."""
    for fmt in ("../../attack", "wav/../../x", "/etc/passwd", "wav\x00"):
        with pytest.raises(ValueError, match="fmt"):
            tts.audio("暴雨红色预警。", fmt, tmp_path, None)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


# -- the ingest drop folder and pollers ---------------------------------------------------------


def _quake_feed(path: Path, event_id: str) -> Path:
    feature = {
        "type": "Feature",
        "id": event_id,
        "properties": {
            "mag": 3.1,
            "place": MARK,
            "time": 1_699_999_000_000,
            "updated": 1_700_000_000_000,
            "status": "automatic",
            "magType": "ml",
            "type": "earthquake",
        },
        "geometry": {"type": "Point", "coordinates": [109.6, 27.8, 10.0]},
    }
    doc = {"type": "FeatureCollection", "metadata": {"count": 1}, "features": [feature]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def outside(db_url: str, tmp_path: Path):
    """A folder outside the drop folder, and the database cleaned of what a test may load."""
    folder = tmp_path / "outside"
    folder.mkdir()
    event = f"attack{uuid.uuid4().hex[:10]}"
    yield folder, event
    with psycopg.connect(db_url) as conn:
        conn.execute("DELETE FROM earthquake WHERE event_id = %s", [event])
        conn.execute("DELETE FROM hazard_point WHERE id LIKE 'ATTACK%%'")
        conn.execute("DELETE FROM ingest_log WHERE source LIKE %s", [f"{tmp_path}%"])


def _loaded(db_url: str, event: str) -> int:
    with psycopg.connect(db_url) as conn:
        quakes = conn.execute("SELECT count(*) FROM earthquake WHERE event_id = %s", [event])
        n = quakes.fetchone()[0]
        n += conn.execute("SELECT count(*) FROM hazard_point WHERE id LIKE 'ATTACK%%'").fetchone()[
            0
        ]
    return n


def test_a_symlink_in_the_drop_folder_is_refused_unread(db_url, outside, tmp_path) -> None:
    folder, event = outside
    target = _quake_feed(folder / "quakes.geojson", event)
    untouched(target)
    runner = Runner(db_url, tmp_path / "data", tmp_path / "inbox")
    (runner.inbox / "quakes.geojson").symlink_to(target)
    (runner.inbox / "dangling.geojson").symlink_to(folder / "missing.geojson")
    summaries = runner.run_once()
    assert sorted(s.status for s in summaries) == ["rejected", "rejected"], summaries
    assert all("link" in (s.message or "") for s in summaries), summaries
    assert _loaded(db_url, event) == 0
    assert not was_read(target) and target.exists()
    # filed away as links (the target stays where it was), the drop folder is empty
    filed = sorted(p.name for p in (runner.inbox / "rejected").rglob("*") if p.is_symlink())
    assert filed == ["dangling.geojson", "quakes.geojson"]
    assert runner.pending_files() == []
    # the same file copied in is ingested: the refusal is for the link, not the content
    (runner.inbox / "copied.geojson").write_bytes(target.read_bytes())
    assert [s.status for s in runner.run_once()] == ["loaded"]
    assert _loaded(db_url, event) == 1


VRT = """<OGRVRTDataSource>
  <OGRVRTLayer name="inventory">
    <SrcDataSource>{source}</SrcDataSource>
    <GeometryType>wkbPoint</GeometryType>
    <LayerSRS>EPSG:4326</LayerSRS>
    <GeometryField encoding="PointFromColumns" x="lon" y="lat"/>
  </OGRVRTLayer>
</OGRVRTDataSource>
"""
INVENTORY = (
    "id,name,kind,scale,threatened_people,threatened_households,lon,lat\n"
    f"ATTACK1,{MARK},landslide,small,5,2,109.7,27.8\n"
)


@pytest.mark.parametrize("suffix", [".gpkg", ".shp"])
def test_a_virtual_dataset_posing_as_a_geopackage_reads_nothing_outside(
    db_url, outside, tmp_path, suffix: str
) -> None:
    """GDAL opens files by content: an OGR VRT named ``*.gpkg`` would read any file the
    service can (or a URL through /vsicurl/)."""
    folder, event = outside
    secret = folder / "inventory.csv"
    secret.write_text(INVENTORY, encoding="utf-8")
    untouched(secret)
    runner = Runner(db_url, tmp_path / "data", tmp_path / "inbox")
    (runner.inbox / f"hazards{suffix}").write_text(VRT.format(source=secret), encoding="utf-8")
    [summary] = runner.run_once()
    assert summary.status == "rejected", summary
    loose = tmp_path / f"direct{suffix}"
    loose.write_text(VRT.format(source=secret), encoding="utf-8")
    with psycopg.connect(db_url) as conn:
        direct = ingest_file(conn, loose, data_dir=tmp_path / "data", kind="hazard-points")
    assert direct.status == "rejected", direct
    assert not was_read(secret)
    assert _loaded(db_url, event) == 0


class _CapHost:
    """A remote CAP feed host answering every path with the same (unusable) message."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.end_headers()
                self.wfile.write(b"<not-cap/>")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()


def test_cap_links_from_a_remote_feed_cannot_name_files_outside(db_url, outside, tmp_path) -> None:
    host = _CapHost()
    links = [
        "../../../../../../../tmp/attack-escape-1.xml",
        "a/..%2F..%2F..%2F..%2F..%2Fattack-escape-2.xml",
        "%2e%2e%2f%2e%2e%2fattack-escape-3.xml",
        "attack-escape-4%00.xml",
        "/attack-escape-5\\..\\..\\x.xml",
        "..",
    ]
    feed = f"attack-feed-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url) as conn:
        for n, link in enumerate(links):
            conn.execute(
                "INSERT INTO cap_feed_entry (feed_id, entry_id, updated, link, disposition)"
                " VALUES (%s, %s, now(), %s, 'fetch')",
                [feed, f"e{n}", link],
            )
    source = Source(name="attack-cap", url=f"{host.base}/feeds/index.atom", kind="cap")
    runner = Runner(db_url, tmp_path / "data", tmp_path / "inbox", [source], backoff_s=0.01)
    try:
        with httpx.Client() as client:
            summaries = runner.follow_cap_links(source, client)
    finally:
        host.server.shutdown()
        with psycopg.connect(db_url) as conn:
            conn.execute("DELETE FROM cap_feed_entry WHERE feed_id = %s", [feed])
            conn.execute("DELETE FROM ingest_log WHERE source LIKE %s", [f"{host.base}%"])
    assert len(summaries) == len(links) and len(host.paths) == len(links)
    downloads = tmp_path / "data" / "downloads" / "attack-cap"
    written = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert len(written) == len(links) and all(p.parent == downloads for p in written), written
    assert not list(Path("/tmp").glob("attack-escape-*"))
