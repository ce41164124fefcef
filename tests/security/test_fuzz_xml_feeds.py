"""Fuzzing the XML feeds: upstream CAP (messages, wrappers, Atom indexes) and QuakeML.

Real samples (tests/../shared/data and the demo storm in data/scenarios) are damaged at byte and
element level, and alerts / events are generated with missing, repeated and garbage elements.
The property is :func:`tests.security.fuzz_support.outcome`: a Batch of valid rows with the bad
records quarantined by name and field, or a ``FeedReadError`` naming the file; nothing else.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import shapely
from hypothesis import example, given
from hypothesis import strategies as st

from riskmap.geo.vocabulary import CAP_11_NS, CAP_12_NS
from riskmap.ingest.batch import Batch, Context
from riskmap.ingest.feeds.quakes import DEPTH_RANGE_KM, MAG_RANGE, QuakeMl
from riskmap.ingest.feeds.upstream_cap.alerts import (
    CATEGORY,
    CERTAINTY,
    MSG_TYPE,
    SCOPE,
    SEVERITY,
    STATUS,
    URGENCY,
)
from riskmap.ingest.feeds.upstream_cap.feed import CapFeed
from tests.conftest import ROOT, SHARED_DATA
from tests.security.fuzz_support import (
    Samples,
    finite,
    fuzz_settings,
    labels,
    missing,
    nasty_text,
    outcome,
    rows,
    xml_mutated,
)

SCENARIO = ROOT / "data" / "scenarios" / "storm-431226"
ATOM = "http://www.w3.org/2005/Atom"
CTX = Context(conn=None, data_dir=Path("/nonexistent"), source="fuzz")  # type: ignore[arg-type]


def _samples(paths: list[Path], limit: int = 40_000) -> Samples:
    return Samples(
        p.read_bytes() for p in sorted(paths) if p.is_file() and p.stat().st_size <= limit
    )


CAP_SAMPLES = _samples(
    [p for p in (SHARED_DATA / "cap").rglob("*") if p.suffix in (".xml", ".cap")]
    + list(SCENARIO.glob("*_cap_*.xml"))
)
QUAKEML_SAMPLES = _samples([p for p in (SHARED_DATA / "quakes" / "quakeml").glob("*.xml")])


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- CAP ------------------------------------------------------------------------------------------


def _aware(value: object) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None


def check_cap(batch: Batch) -> None:
    """Only complete alerts load, each child row belongs to a loaded alert, values are valid."""
    alerts = rows(batch, "cap_alert")
    loaded = labels(batch, "cap_alert")
    ids = {a["id"] for a in alerts}
    for p in batch.problems:
        if p.reason.startswith("not loaded"):
            assert p.record not in loaded, f"quarantined alert also loaded: {p}"
    for a in alerts:
        assert a["identifier"] and a["sender"], a
        assert _aware(a["sent"]), a
        assert a["status"] in STATUS and a["msg_type"] in MSG_TYPE and a["scope"] in SCOPE, a
        if a["msg_type"] in ("Update", "Cancel"):
            assert a["references_raw"], f"an {a['msg_type']} without references loaded"
    for i in rows(batch, "cap_info"):
        assert i["alert_id"] in ids, "info row of an alert that does not load"
        assert i["category"] and set(i["category"]) <= set(CATEGORY), i
        assert i["event"], i
        assert i["urgency"] in URGENCY and i["severity"] in SEVERITY, i
        assert i["certainty"] in CERTAINTY, i
        for t in ("effective", "onset", "expires"):
            assert missing(i[t]) or _aware(i[t]), i
    for r in rows(batch, "cap_area"):
        assert r["alert_id"] in ids, "area row of an alert that does not load"
        assert r["area_desc"], r
        geom = r["geom"]
        if not missing(geom):
            assert geom.geom_type == "MultiPolygon" and shapely.is_valid(geom), geom
            x0, y0, x1, y1 = geom.bounds
            assert -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90, geom.bounds
        for v in (r["altitude"], r["ceiling"]):
            assert v is None or finite(v), r
    for r in rows(batch, "cap_reference"):
        assert r["alert_id"] in ids and r["ref_sender"] and r["ref_identifier"], r
    for e in rows(batch, "cap_feed_entry"):
        assert e["entry_id"] and _aware(e["updated"]), e
        assert e["disposition"] in ("loaded", "fetch", "unusable"), e


def parse_cap_file(path: Path) -> Batch | None:
    batch = outcome(lambda: CapFeed().parse(path, CTX), path)
    if batch is not None:
        check_cap(batch)
    return batch


@fuzz_settings(2.0)
@given(data=xml_mutated(CAP_SAMPLES))
def test_damaged_cap_samples_load_valid_alerts_or_are_refused(tmp_path: Path, data: bytes) -> None:
    parse_cap_file(_write(tmp_path, "upstream.xml", data))


_CAP_VALUES = {
    "identifier": st.sampled_from(["KMA-1", "43122602000100_20260714100000_1", "a b", "x"]),
    "sender": st.sampled_from(["w-nws.webmaster@noaa.gov", "431226000000@hn.cma.gov.cn"]),
    "sent": st.sampled_from(
        ["2026-07-14T10:00:00+08:00", "2003-04-02T14:39:01-05:00", "2026-07-14T10:00:00"]
    ),
    "status": st.sampled_from((*STATUS, "actual", "Unknown")),
    "msgType": st.sampled_from((*MSG_TYPE, "alert")),
    "scope": st.sampled_from(SCOPE),
    "references": st.sampled_from(
        ["a@b,KMA-0,2026-07-14T09:00:00+08:00", "a@b,KMA-0", "a,b,c d,e,f", ",,", "x,y,z x,y,z"]
    ),
    "category": st.sampled_from((*CATEGORY, "met", "Weather")),
    "event": st.sampled_from(["暴雨", "Flash flood", "Tsunami"]),
    "responseType": st.sampled_from(["Prepare", "Evacuate", "AllClear", "Run"]),
    "urgency": st.sampled_from(URGENCY),
    "severity": st.sampled_from(SEVERITY),
    "certainty": st.sampled_from((*CERTAINTY, "Very Likely")),
    "effective": st.sampled_from(["2026-07-14T10:00:00+08:00", "2026-07-14"]),
    "expires": st.sampled_from(["2026-07-14T22:00:00+08:00", "2026-07-13T22:00:00+08:00"]),
    "areaDesc": st.sampled_from(["麻阳苗族自治县", "Coastal waters"]),
    "polygon": st.sampled_from(
        [
            "27.5,109.5 27.6,109.5 27.6,109.6 27.5,109.6 27.5,109.5",
            "27.5,109.5 27.6,109.6 27.5,109.6 27.6,109.5",  # a bow tie
            "27.5,109.5 27.6,109.5 27.6,109.6",  # not closed
            "10,10 10,10 10,10 10,10",
            "89.9,179.9 89.9,-179.9 -89.9,-179.9 -89.9,179.9 89.9,179.9",
        ]
    ),
    "circle": st.sampled_from(["27.5,109.5 10", "27.5,109.5 0", "0,0 20000", "27.5,109.5"]),
    "altitude": st.sampled_from(["100", "1e309"]),
    "ceiling": st.sampled_from(["50", "200", "nan"]),
}
_ALERT_HEAD = ("identifier", "sender", "sent", "status", "msgType", "scope", "references")
_INFO = ("category", "event", "responseType", "urgency", "severity", "certainty")
_INFO += ("effective", "expires")
_AREA = ("areaDesc", "polygon", "circle", "altitude", "ceiling")


@st.composite
def _element(draw: st.DrawFn, name: str) -> str:
    """``name`` absent, once, twice, empty, or with a good, garbage or raw (unescaped) value."""
    how = draw(st.sampled_from(["good"] * 6 + ["none", "nasty", "raw", "twice", "empty"]))
    if how == "none":
        return ""
    if how == "empty":
        return f"<{name}/>"
    good = draw(_CAP_VALUES[name])
    if how == "nasty":
        return f"<{name}>{escape(draw(nasty_text))}</{name}>"
    if how == "raw":
        return f"<{name}>{draw(nasty_text)}</{name}>"
    value = f"<{name}>{escape(good)}</{name}>"
    return value * (2 if how == "twice" else 1)


@st.composite
def cap_documents(draw: st.DrawFn) -> bytes:
    """A CAP 1.1/1.2 alert (or a wrong namespace, a wrapper of several, an Atom entry) whose
    elements may be missing, repeated, empty or garbage."""
    ns = draw(st.sampled_from([CAP_12_NS] * 4 + [CAP_11_NS, "urn:oasis:names:tc:emergency:x", ""]))

    def alert() -> str:
        head = "".join(draw(_element(n)) for n in _ALERT_HEAD)
        infos = []
        for _ in range(draw(st.integers(0, 2))):
            areas = []
            for _ in range(draw(st.integers(0, 2))):
                areas.append("<area>" + "".join(draw(_element(n)) for n in _AREA) + "</area>")
            body = "".join(draw(_element(n)) for n in _INFO)
            infos.append(f"<info>{body}{''.join(areas)}</info>")
        xmlns = f' xmlns="{ns}"' if ns else ""
        return f"<alert{xmlns}>{head}{''.join(infos)}</alert>"

    shape = draw(st.sampled_from(["alert", "alert", "wrapper", "atom"]))
    if shape == "alert":
        doc = alert()
    elif shape == "wrapper":
        doc = "<EDXLDistribution>" + "".join(alert() for _ in range(draw(st.integers(0, 3))))
        doc += "</EDXLDistribution>"
    else:
        entry = draw(st.sampled_from(["<id>e1</id>", "", "<id></id>"])) + draw(
            st.sampled_from(["<updated>2026-07-14T10:00:00Z</updated>", "<updated>x</updated>", ""])
        )
        link = '<link href="http://x/a.cap" type="application/cap+xml"/>'
        entry += draw(st.sampled_from(["", link]))
        doc = f"<feed xmlns='{ATOM}'><id>f</id><entry>{entry}{alert()}</entry></feed>"
    decl = draw(st.sampled_from(['<?xml version="1.0" encoding="UTF-8"?>\n', "", "\ufeff"]))
    return (decl + doc).encode("utf-8", errors="replace")


@fuzz_settings(2.0)
@given(data=cap_documents())
@example(  # year 1 without an offset is read as Beijing time: shifting it to UTC overflowed
    data=(
        f'<alert xmlns="{CAP_12_NS}"><identifier>x</identifier><sender>s</sender>'
        "<sent>0001-01-01T00:00:00</sent><status>Actual</status><msgType>Alert</msgType>"
        "<scope>Public</scope></alert>"
    ).encode()
)
@example(  # the same in an info time (effective / onset / expires)
    data=(
        f'<alert xmlns="{CAP_12_NS}"><identifier>x</identifier><sender>s</sender>'
        "<sent>2026-07-14T10:00:00+08:00</sent><status>Actual</status><msgType>Alert</msgType>"
        "<scope>Public</scope><info><category>Met</category><event>e</event>"
        "<urgency>Past</urgency><severity>Minor</severity><certainty>Likely</certainty>"
        "<expires>9999-12-31T23:59:59-05:00</expires></info></alert>"
    ).encode()
)
def test_generated_cap_with_missing_and_garbage_elements(tmp_path: Path, data: bytes) -> None:
    parse_cap_file(_write(tmp_path, "generated.xml", data))


# -- QuakeML ------------------------------------------------------------------------------------


def check_quakes(batch: Batch) -> None:
    """Every loaded event is on Earth, in range, with a UTC origin time; none is also a problem."""
    quarantined = {p.record for p in batch.problems}
    for r in rows(batch, "earthquake"):
        assert r["_record"] not in quarantined, r
        assert r["event_id"], r
        assert _aware(r["origin_time"]), r
        lon, lat = r["geom"].x, r["geom"].y
        assert finite(lon) and finite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90, r
        mag, depth = r["magnitude"], r["depth_km"]
        assert mag is None or (finite(mag) and MAG_RANGE[0] <= mag <= MAG_RANGE[1]), r
        assert depth is None or (
            finite(depth) and DEPTH_RANGE_KM[0] <= depth <= DEPTH_RANGE_KM[1]
        ), r
        assert missing(r["updated_at"]) or _aware(r["updated_at"]), r


def parse_quakeml_file(path: Path) -> None:
    batch = outcome(lambda: QuakeMl().parse(path, CTX), path)
    if batch is not None:
        check_quakes(batch)


@fuzz_settings(1.5)
@given(data=xml_mutated(QUAKEML_SAMPLES))
@example(  # an undeclared prefix: lxml keeps the tag "q:quakeml" and QName's ValueError leaked
    data=b'<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2"><eventParameters/></q:quakeml>'
)
@example(
    data=b'<quakeml xmlns="http://quakeml.org/xmlns/bed/1.2"><eventParameters>'
    b'<x:event publicID="a"/></eventParameters></quakeml>'
)
def test_damaged_quakeml_samples_load_valid_events_or_are_refused(
    tmp_path: Path, data: bytes
) -> None:
    parse_quakeml_file(_write(tmp_path, "events.xml", data))


_QML_VALUE = st.one_of(
    st.sampled_from(["27.5", "109.5", "10000", "-1e309", "nan", "", "181", "-91"]), nasty_text
)
_QML_TIME = st.one_of(
    st.sampled_from(
        [
            "2026-07-14T02:00:00Z",
            "2026-07-14T02:00:00.123456",
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            "2026-07-14",
        ]
    ),
    nasty_text,
)


@st.composite
def quakeml_documents(draw: st.DrawFn) -> bytes:
    """QuakeML 1.2 (or 1.0, or a foreign namespace) with generated events whose origins and
    magnitudes have missing or garbage values."""
    ns = draw(
        st.sampled_from(
            ["http://quakeml.org/xmlns/bed/1.2"] * 3
            + ["http://quakeml.org/xmlns/quakeml/1.0", "http://example.com/ns"]
        )
    )
    events = []
    for n in range(draw(st.integers(0, 3))):
        pid = draw(st.sampled_from([f' publicID="smi:local/event/{n}"', "", ' publicID=""']))
        origin = "".join(
            f"<{k}><value>{escape(draw(_QML_VALUE))}</value></{k}>"
            for k in ("latitude", "longitude", "depth")
            if draw(st.integers(0, 5))
        )
        if draw(st.integers(0, 5)):
            origin += f"<time><value>{escape(draw(_QML_TIME))}</value></time>"
        mag = f"<mag><value>{escape(draw(_QML_VALUE))}</value></mag>"
        created = f"<creationTime>{escape(draw(_QML_TIME))}</creationTime>"
        created = f"<creationInfo>{created}</creationInfo>"
        parts = [
            f"<origin>{origin}</origin>" if draw(st.integers(0, 5)) else "",
            f"<magnitude>{mag}</magnitude>" if draw(st.booleans()) else "",
            created if draw(st.booleans()) else "",
            "<preferredOriginID>smi:none</preferredOriginID>" if draw(st.booleans()) else "",
        ]
        events.append(f"<event{pid}>{''.join(parts)}</event>")
    body = f"<eventParameters>{''.join(events)}</eventParameters>"
    return f'<q:quakeml xmlns:q="{ns}" xmlns="{ns}">{body}</q:quakeml>'.encode()


@fuzz_settings(1.5)
@given(data=quakeml_documents())
@example(  # an aware year-1 time moved to UTC overflowed
    data=(
        b'<q:quakeml xmlns:q="http://quakeml.org/xmlns/bed/1.2"'
        b' xmlns="http://quakeml.org/xmlns/bed/1.2"><eventParameters>'
        b'<event publicID="smi:x/1"><origin><latitude><value>1</value></latitude>'
        b"<longitude><value>1</value></longitude>"
        b"<time><value>0001-01-01T00:00:00+05:00</value></time></origin></event>"
        b"</eventParameters></q:quakeml>"
    )
)
def test_generated_quakeml_events_with_garbage_values(tmp_path: Path, data: bytes) -> None:
    parse_quakeml_file(_write(tmp_path, "generated.xml", data))
