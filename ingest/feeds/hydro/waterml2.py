"""OGC WaterML 2.0 collections, streamed one ``om:OM_Observation`` at a time.

Turns each observation's monitoring point and measurement series into the shared
points and sites of :mod:`.series`.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree
from pyproj import CRS, Transformer

from riskmap.ingest.batch import Batch, Context, FeedReadError, Problem
from riskmap.ingest.feeds.hydro.series import Point, Site, points_batch, variable_of
from riskmap.ingest.feeds.hydro.tables import STCD_PATTERN
from riskmap.ingest.feeds.hydro.times import offset_of, with_document_offset

KIND_WATERML2 = "hydro-waterml2"

NS = {
    "wml2": "http://www.opengis.net/waterml/2.0",
    "gml": "http://www.opengis.net/gml/3.2",
    "om": "http://www.opengis.net/om/2.0",
    "sa": "http://www.opengis.net/sampling/2.0",
    "sams": "http://www.opengis.net/samplingSpatial/2.0",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
_XLINK_TITLE = f"{{{NS['xlink']}}}title"
_XLINK_HREF = f"{{{NS['xlink']}}}href"
_GML_ID = f"{{{NS['gml']}}}id"


def _station_code(*candidates: str | None) -> str | None:
    """The first 8-character [0-9A-Z] token of the candidates (``USGS.01646500`` → 01646500)."""
    for text in candidates:
        if not text:
            continue
        for token in re.split(r"[.:/=&?,;\s_-]+", text):
            if STCD_PATTERN.match(token.upper()) and any(ch.isdigit() for ch in token):
                return token.upper()
    return None


def _position(point: etree._Element | None) -> tuple[float | None, float | None]:
    """(lon, lat) in WGS 84 of a gml:Point (gml:pos in the axis order of its srsName)."""
    if point is None:
        return None, None
    pos = point.find("gml:pos", NS)
    if pos is None or not (pos.text or "").split():
        return None, None
    srs = pos.get("srsName") or point.get("srsName") or "EPSG:4326"
    a, b = (float(v) for v in pos.text.split()[:2])
    crs = CRS.from_user_input(re.sub(r"^urn:ogc:def:crs:EPSG:[0-9.]*:", "EPSG:", srs))
    if crs.to_epsg() in (4326, 4490):
        return b, a  # EPSG axis order: latitude, longitude
    lat, lon = Transformer.from_crs(crs, "EPSG:4326").transform(a, b)
    return lon, lat


def _wml2_site(obs: etree._Element, collection_id: str | None) -> Site | None:
    foi = obs.find("om:featureOfInterest", NS)
    if foi is None:
        return None
    mp = foi.find("wml2:MonitoringPoint", NS)
    if mp is None:
        mp = foi.find("sams:SF_SpatialSamplingFeature", NS)
    ident = name = ref_href = ref_title = mp_id = None
    point = None
    if mp is not None:
        ident = mp.findtext("gml:identifier", namespaces=NS)
        name = mp.findtext("gml:name", namespaces=NS)
        mp_id = mp.get(_GML_ID)
        ref = mp.find("gml:descriptionReference", NS)
        if ref is not None:
            ref_href, ref_title = ref.get(_XLINK_HREF), ref.get(_XLINK_TITLE)
        point = mp.find("sams:shape/gml:Point", NS)
    sites = re.search(r"sites?=([0-9A-Za-z]+)", ref_href or foi.get(_XLINK_HREF) or "")
    code = _station_code(ident, sites.group(1) if sites else None, mp_id, collection_id)
    if code is None:
        return None
    lon, lat = _position(point)
    return Site(code, name or foi.get(_XLINK_TITLE) or ref_title, lon, lat)


def _uom(meta: etree._Element | None) -> str | None:
    if meta is None:
        return None
    uom = meta.find("wml2:uom", NS)
    if uom is None:
        return None
    return uom.get("code") or uom.get(_XLINK_TITLE) or uom.get(_XLINK_HREF)


def _has_dtd(el: etree._Element) -> bool:
    """Whether the document being parsed declared a DOCTYPE (known from its first element)."""
    info = el.getroottree().docinfo
    return bool(info.doctype) or info.internalDTD is not None or bool(info.system_url)


def parse_waterml2(path: Path, ctx: Context) -> Batch:
    """Parse an OGC WaterML 2.0 collection (streamed one observation at a time)."""
    parser_opts = {
        "resolve_entities": False,
        "load_dtd": False,
        "no_network": True,
        "huge_tree": False,
    }
    sites: list[Site] = []
    points: list[Point] = []
    problems: list[Problem] = []
    collection_id = None
    n_obs = 0
    try:
        events = etree.iterparse(
            str(path), events=("start", "end"), remove_comments=True, **parser_opts
        )
        for event, el in events:
            if event == "start":
                if n_obs == 0 and _has_dtd(el):
                    raise FeedReadError(
                        f"{path.name}: refused: the document has a DOCTYPE/DTD; WaterML needs"
                        " none and DTDs allow external entities (XXE) and entity expansion"
                    )
                if el.tag == f"{{{NS['wml2']}}}Collection" and collection_id is None:
                    collection_id = el.get(_GML_ID)
                continue
            parent = el.getparent()
            if (
                el.tag == f"{{{NS['gml']}}}identifier"
                and parent is not None
                and parent.tag == f"{{{NS['wml2']}}}Collection"
            ):
                collection_id = el.text or collection_id
            if el.tag != f"{{{NS['om']}}}OM_Observation":
                continue
            n_obs += 1
            _wml2_observation(el, n_obs, collection_id, sites, points, problems)
            el.clear()
    except etree.XMLSyntaxError as exc:
        raise FeedReadError(f"{path.name}: not well-formed XML ({exc})") from exc
    if n_obs == 0:
        raise FeedReadError(f"{path.name}: no om:OM_Observation in this WaterML 2.0 document")
    if not sites and not points and not problems:
        raise FeedReadError(
            f"{path.name}: no discharge, stage or precipitation series in {n_obs} observation(s)"
        )
    batch = points_batch(KIND_WATERML2, path, ctx, sites, points)
    batch.problems[:0] = problems
    return batch


def _wml2_observation(
    obs: etree._Element,
    n: int,
    collection_id: str | None,
    sites: list[Site],
    points: list[Point],
    problems: list[Problem],
) -> None:
    prop = obs.find("om:observedProperty", NS)
    title = prop.get(_XLINK_TITLE) if prop is not None else None
    href = prop.get(_XLINK_HREF) if prop is not None else None
    variable = variable_of(href, title)
    if variable is None:
        return  # not a quantity riskmap stores (temperature, turbidity, ...)
    site = _wml2_site(obs, collection_id)
    if site is None:
        problems.append(
            Problem(
                f"observation {n}",
                "featureOfInterest",
                "no monitoring point with an 8-character station code (STCD)",
            )
        )
        return
    site.variables.add(variable)
    sites.append(site)
    series = obs.find("om:result/wml2:MeasurementTimeseries", NS)
    if series is None:
        return
    default_uom = _uom(
        series.find("wml2:defaultPointMetadata/wml2:DefaultTVPMeasurementMetadata", NS)
    )
    offset = offset_of(
        obs.findtext("om:resultTime/gml:TimeInstant/gml:timePosition", namespaces=NS)
    )
    for j, tvp in enumerate(series.iterfind("wml2:point/wml2:MeasurementTVP", NS), start=1):
        time = tvp.findtext("wml2:time", namespaces=NS)
        value_el = tvp.find("wml2:value", NS)
        if time is None and value_el is None:
            continue  # a metadata-only point (USGS writes one before the values)
        nil = value_el is not None and value_el.get(f"{{{NS['xsi']}}}nil") == "true"
        value = None if value_el is None or nil else (value_el.text or "").strip() or None
        unit = _uom(tvp.find("wml2:metadata/wml2:TVPMeasurementMetadata", NS)) or default_uom
        points.append(
            Point(
                site.stcd,
                variable,
                with_document_offset(time or "", offset),
                value,
                unit,
                f"observation {n} point {j}",
            )
        )
