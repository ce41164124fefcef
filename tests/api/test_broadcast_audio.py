"""``/api/broadcasts/{id}/audio.wav|mp3`` over a real server: public, cached for good, 404 for
anything that is not a broadcast. The texts are written here and put in the outbox."""

from __future__ import annotations

import io
import uuid
import wave

import psycopg
import pytest
from psycopg.types.json import Jsonb

SHORT = "暴雨红色预警。"
LONG = (
    "麻阳苗族自治县山洪灾害立即转移预警。危险区人员立即按转移路线撤离到安置点，不得返回。"
    "村监测员加强巡查，随时报告雨情和险情。"
)


def seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        assert w.getframerate() > 8000
        return w.getnframes() / w.getframerate()


@pytest.fixture(scope="module")
def rows(service) -> dict[str, int]:
    """Outbox rows of our own (status sent: no dispatcher picks them up)."""
    ids = {}
    with psycopg.connect(service.db_url) as conn:
        wid, ver = conn.execute(
            "SELECT warning_id, version FROM warning_version ORDER BY warning_id, version LIMIT 1"
        ).fetchone()
        for name, channel, text in [
            ("short", "broadcast", SHORT),
            ("long", "broadcast", LONG),
            ("sms", "sms", SHORT),
        ]:
            ids[name] = conn.execute(
                "INSERT INTO outbox (warning_id, version, channel, target, payload,"
                " idempotency_key, status) VALUES (%s, %s, %s, %s, %s, %s, 'sent') RETURNING id",
                [wid, ver, channel, "test-audio", Jsonb({"text": text}), uuid.uuid4().hex],
            ).fetchone()[0]
    return ids


def test_wav_is_public_and_cached_for_good(service, rows) -> None:
    with service.client() as c:  # no token
        short = c.get(f"/api/broadcasts/{rows['short']}/audio.wav")
        long = c.get(f"/api/broadcasts/{rows['long']}/audio.wav")
        again = c.get(f"/api/broadcasts/{rows['short']}/audio.wav")
        etag = short.headers["etag"]
        unchanged = c.get(
            f"/api/broadcasts/{rows['short']}/audio.wav", headers={"If-None-Match": etag}
        )
    assert short.status_code == long.status_code == again.status_code == 200
    assert short.headers["content-type"] == "audio/wav"
    assert "immutable" in short.headers["cache-control"]
    assert again.content == short.content and again.headers["etag"] == etag
    assert long.headers["etag"] != etag
    assert unchanged.status_code == 304 and not unchanged.content
    # 7 characters against 59: the longer text takes several times as long to say
    assert 1 < seconds(short.content) < seconds(long.content) / 3


def test_mp3(service, rows) -> None:
    with service.client() as c:
        r = c.get(f"/api/broadcasts/{rows['long']}/audio.mp3")
    assert r.status_code == 200
    assert r.headers["content-type"] == "audio/mpeg"
    data = r.content
    assert len(data) > 10_000
    assert data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)
    assert r.headers["etag"] != ""


def test_only_broadcasts_have_audio(service, rows) -> None:
    with service.client() as c:
        assert c.get(f"/api/broadcasts/{rows['sms']}/audio.wav").status_code == 404
        assert c.get(f"/api/broadcasts/{rows['long'] + 10**9}/audio.wav").status_code == 404
        assert c.get(f"/api/broadcasts/{rows['long']}/audio.ogg").status_code == 422
        assert c.get("/api/broadcasts/0/audio.wav").status_code == 422


def test_plain_audio_link_negotiates_the_format(service, rows) -> None:
    with service.client() as c:
        wav = c.get(f"/api/broadcasts/{rows['short']}/audio")
        mp3 = c.get(f"/api/broadcasts/{rows['short']}/audio", headers={"Accept": "audio/mpeg"})
    assert wav.status_code == mp3.status_code == 200
    assert wav.headers["content-type"] == "audio/wav" and wav.content[:4] == b"RIFF"
    assert mp3.headers["content-type"] == "audio/mpeg" and mp3.content[:4] != b"RIFF"
