"""The meteorological bureau's rainstorm signal in the storm: alert, escalation, cancellation.

Signals arrive as CAP 1.2 messages with GB/T 35965.1 identifiers; the demo issues an orange
signal, upgrades it to red with a reference to the first, and cancels it as the storm passes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import shapely

from riskmap.geo.demo.county import DemoCounty
from riskmap.geo.demo.scenario.storm import stamp
from riskmap.geo.vocabulary import BEIJING


def _sender(county: str) -> str:
    """Synthetic sender of the county's 气象台 (each county its own: identifiers never clash)."""
    return f"{county}000000@hn.cma.gov.cn"


def _cap_identifier(county: str, t: datetime) -> str:
    """GB/T 35965.1 form: 6-digit area, 3-digit department, 3-digit unit, 2 spare, time, serial."""
    return f"{county}02000100_{t.astimezone(BEIJING).strftime('%Y%m%d%H%M%S')}_1"


def _polygon(outline, confine: bool = False) -> str:
    """The signal's area: the county's convex hull, or (``confine``) its outline 1 km inside
    the county line, largest part, so that no neighbouring village is touched."""
    if confine:
        parts = shapely.get_parts(outline.buffer(-0.01))
        parts = parts if len(parts) else shapely.get_parts(outline)
        ring = max(parts, key=lambda g: g.area).exterior
        hull = shapely.simplify(shapely.Polygon(ring), 0.004)
    else:
        hull = shapely.simplify(shapely.convex_hull(outline), 0.005)
    return " ".join(f"{y:.4f},{x:.4f}" for x, y in shapely.get_coordinates(hull))


def write_cap_signals(
    demo: DemoCounty,
    outline: shapely.Geometry,
    start: datetime,
    out_dir: Path,
    until: datetime | None = None,
    confine: bool = False,
) -> list[Path]:
    """The three CAP messages of the signal, each as the file it arrives in (those sent by
    ``until``)."""
    name, code = demo.county.name, demo.county.code
    sender = _sender(code)
    steps = [
        (start + timedelta(hours=2), "Alert", "orange", "橙色", "Severe", "Likely", None),
        (start + timedelta(hours=5), "Update", "red", "红色", "Extreme", "Observed", 0),
        (start + timedelta(hours=16), "Cancel", "red", "红色", "Extreme", "Observed", 1),
    ]
    sent_ids: list[tuple[str, str]] = []
    out = []
    for when, msg_type, colour, zh, severity, certainty, ref in steps:
        if until is not None and when > until:
            break
        ident = _cap_identifier(code, when)
        sent = when.astimezone(BEIJING).isoformat()
        refs = (
            f"<references>{sender},{sent_ids[ref][0]},{sent_ids[ref][1]}</references>"
            if ref is not None
            else ""
        )
        cancel = msg_type == "Cancel"
        headline = (
            f"{name}气象台解除暴雨{zh}预警信号" if cancel else f"{name}气象台发布暴雨{zh}预警信号"
        )
        amount = "100" if colour == "red" else "50"
        description = (
            "强降雨已经减弱，解除暴雨预警信号。"
            if cancel
            else f"预计未来3小时内{name}大部分地区降雨量将达{amount}毫米以上，"
            "局地伴有雷电和短时强降水，请注意防范山洪、地质灾害和城乡积涝。"
        )
        expires = (when + timedelta(hours=12)).astimezone(BEIJING).isoformat()
        xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{ident}</identifier>
  <sender>{sender}</sender>
  <sent>{sent}</sent>
  <status>Actual</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {refs}
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>暴雨</event>
    <responseType>{"AllClear" if cancel else "Prepare"}</responseType>
    <urgency>{"Past" if cancel else "Immediate"}</urgency>
    <severity>{"Minor" if cancel else severity}</severity>
    <certainty>{certainty}</certainty>
    <eventCode><valueName>GB/T 27962 signal</valueName><value>暴雨{zh}</value></eventCode>
    <effective>{sent}</effective>
    <expires>{expires}</expires>
    <senderName>{escape(name)}气象台</senderName>
    <headline>{escape(headline)}</headline>
    <description>{escape(description)}</description>
    <parameter><valueName>signal_colour</valueName><value>{colour}</value></parameter>
    <area>
      <areaDesc>{escape(name)}</areaDesc>
      <polygon>{_polygon(outline, confine)}</polygon>
      <geocode><valueName>GB/T 2260</valueName><value>{demo.county.code}</value></geocode>
    </area>
  </info>
</alert>
"""
        path = out_dir / f"{stamp(when)}_cap_rainstorm_{msg_type.lower()}.xml"
        path.write_text(xml, encoding="utf-8")
        sent_ids.append((ident, sent))
        out.append(path)
    return out
