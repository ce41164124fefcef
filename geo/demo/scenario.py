"""The bundled storm scenario: a day of synthetic feeds over the demo county, in real formats.

A convective storm crosses the county from south-west to north-east. The scenario writes what
the bureau would receive that day, each file in the format of its real feed: hourly rainfall
analyses (CF-NetCDF), a rainfall forecast, hourly gauge, river and reservoir tables in the
SL 323 layout (CSV, Beijing time), the regional geohazard risk warning (GeoJSON), satellite fire
hotspots (NASA FIRMS CSV) and the meteorological bureau's rainstorm signal with its escalation
and cancellation (CAP 1.2). File names start with the UTC time they arrive, so replaying them in
name order replays the day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr

from riskmap.geo.demo.county import DemoCounty

BEIJING = timezone(timedelta(hours=8))
DEFAULT_START = datetime(2026, 7, 14, 0, 0, tzinfo=UTC)  # 08:00 Beijing time, main flood season
HOURS = 24
CELL_DEG = 0.01


@dataclass(frozen=True)
class Storm:
    """Where the storm core is and how hard it rains there, hour by hour."""

    start_xy: tuple[float, float]
    end_xy: tuple[float, float]
    peak_mm_h: float = 72.0
    peak_hour: float = 8.0
    spread_h: float = 3.2
    radius_km: float = 11.0

    def centre(self, hour: float) -> tuple[float, float]:
        f = np.clip(hour / 18.0, 0, 1)
        return (
            self.start_xy[0] + f * (self.end_xy[0] - self.start_xy[0]),
            self.start_xy[1] + f * (self.end_xy[1] - self.start_xy[1]),
        )

    def rate(self, lon: np.ndarray, lat: np.ndarray, hour: float) -> np.ndarray:
        """Rain in mm during the hour ending at ``hour`` + 1 (Gaussian core + drizzle)."""
        cx, cy = self.centre(hour + 0.5)
        dx = (lon - cx) * 111.0 * np.cos(np.radians(cy))
        dy = (lat - cy) * 111.0
        core = np.exp(-(dx**2 + dy**2) / (2 * self.radius_km**2))
        strength = self.peak_mm_h * np.exp(
            -((((hour + 0.5) - self.peak_hour) / self.spread_h) ** 2)
        )
        drizzle = 1.5 * np.exp(-((((hour + 0.5) - self.peak_hour) / 8.0) ** 2))
        return strength * core + drizzle * (0.6 + 0.4 * np.cos(lon * 40) * np.sin(lat * 35))


def _grid(bounds: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    west, south, east, north = bounds
    lon = np.round(np.arange(west - 0.05, east + 0.05, CELL_DEG) + CELL_DEG / 2, 6)
    lat = np.round(np.arange(north + 0.05, south - 0.05, -CELL_DEG) - CELL_DEG / 2, 6)
    return lon, lat


def _cf_dataset(lon, lat, fields, starts, issued: datetime | None) -> xr.Dataset:
    """CF-1.8 precipitation amounts with time bounds; a forecast carries its reference time."""
    ends = [s + timedelta(hours=1) for s in starts]
    to_naive = [t.astimezone(UTC).replace(tzinfo=None) for t in ends]
    bounds = np.array(
        [
            [s.astimezone(UTC).replace(tzinfo=None), e]
            for s, e in zip(starts, to_naive, strict=True)
        ],
        dtype="datetime64[s]",
    )
    ds = xr.Dataset(
        {
            "precipitation_amount": (
                ("time", "lat", "lon"),
                np.round(np.stack(fields), 1).astype("float32"),
                {
                    "standard_name": "precipitation_amount",
                    "long_name": "1-hour precipitation",
                    "units": "kg m-2",
                    "cell_methods": "time: sum",
                    "_FillValue": np.float32(-9999),
                },
            ),
            "time_bnds": (("time", "nv"), bounds),
        },
        coords={
            "time": (
                "time",
                np.array(to_naive, dtype="datetime64[s]"),
                {"standard_name": "time", "bounds": "time_bnds"},
            ),
            "lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east"}),
        },
        attrs={
            "Conventions": "CF-1.8",
            "title": "riskmap demo storm (synthetic) — " + ("QPF" if issued else "QPE"),
            "institution": "riskmap demo generator (synthetic data)",
            "source": "geo.demo.scenario",
        },
    )
    if issued is not None:
        ds = ds.assign_coords(
            forecast_reference_time=(
                (),
                np.datetime64(issued.astimezone(UTC).replace(tzinfo=None), "s"),
                {"standard_name": "forecast_reference_time"},
            )
        )
    return ds


def _write_nc(ds: xr.Dataset, path: Path) -> None:
    encoding = {
        "precipitation_amount": {"zlib": True, "complevel": 4},
        "time": {"units": "hours since 1970-01-01 00:00:00", "calendar": "standard"},
        "time_bnds": {"units": "hours since 1970-01-01 00:00:00"},
    }
    if "forecast_reference_time" in ds.coords:
        encoding["forecast_reference_time"] = {"units": "hours since 1970-01-01 00:00:00"}
    ds.to_netcdf(path, engine="netcdf4", encoding=encoding)


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def _beijing(t: datetime) -> str:
    """SL 323 TM: Beijing local time without zone."""
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def write_storm(
    demo: DemoCounty, out_dir: Path, *, start: datetime = DEFAULT_START, seed: int = 1
) -> list[Path]:
    """Write the storm day for ``demo`` into ``out_dir``; returns the files in replay order."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    outline = demo.county.geometry
    west, south, east, north = outline.bounds
    storm = Storm(
        start_xy=(west + 0.15 * (east - west), south + 0.2 * (north - south)),
        end_xy=(west + 0.85 * (east - west), south + 0.8 * (north - south)),
    )
    lon, lat = _grid(outline.bounds)
    glon, glat = np.meshgrid(lon, lat)
    hours = [start + timedelta(hours=h) for h in range(HOURS)]
    fields = [storm.rate(glon, glat, h) for h in range(HOURS)]
    written: list[Path] = []

    for h, (t, field) in enumerate(zip(hours, fields, strict=True)):
        path = out_dir / f"{_stamp(t + timedelta(hours=1))}_qpe_1h.nc"
        _write_nc(_cf_dataset(lon, lat, [field], [t], None), path)
        written.append(path)
        if h == 2:  # the morning forecast: the next six hours
            leads = [t + timedelta(hours=k) for k in range(1, 7)]
            fc = [storm.rate(glon, glat, h + k) * rng.uniform(0.85, 1.15) for k in range(1, 7)]
            path = out_dir / f"{_stamp(t + timedelta(minutes=30))}_qpf_6h.nc"
            _write_nc(_cf_dataset(lon, lat, fc, leads, t), path)
            written.append(path)

    stations = demo.tables["station"]
    written += _gauges(stations, storm, hours, out_dir, rng)
    written += _rivers(stations, demo.tables["river_indicator"], storm, hours, out_dir)
    written += _reservoirs(
        stations,
        demo.tables["reservoir"],
        demo.tables["reservoir_flood_limit"],
        storm,
        hours,
        out_dir,
    )
    written.append(_risk_polygon(storm, outline, start, out_dir))
    written.append(_hotspots(outline, start, out_dir, rng))
    written += _cap_signals(demo, outline, start, out_dir)
    return sorted(written, key=lambda p: p.name)


def _point_rain(storm: Storm, stations: gpd.GeoDataFrame, hour: int) -> np.ndarray:
    return storm.rate(stations.geometry.x.to_numpy(), stations.geometry.y.to_numpy(), hour)


def _gauges(stations, storm, hours, out_dir, rng) -> list[Path]:
    pp = stations[stations.sttp == "PP"]
    out = []
    for h, t in enumerate(hours):
        drp = np.round(_point_rain(storm, pp, h) * rng.uniform(0.9, 1.1, len(pp)), 1)
        end = t + timedelta(hours=1)
        frame = pd.DataFrame(
            {"STCD": pp.stcd.to_numpy(), "TM": _beijing(end), "DRP": drp, "INTV": 1.00}
        )
        path = out_dir / f"{_stamp(end + timedelta(minutes=5))}_ST_PPTN_R.csv"
        frame.to_csv(path, index=False)
        out.append(path)
    return out


def _rivers(stations, indicators, storm, hours, out_dir) -> list[Path]:
    """Stage follows the rain of the last hours (lag ~3 h); the wettest gauge passes 保证水位."""
    zq = stations[stations.sttp == "ZQ"].merge(indicators, on="stcd")
    rain = np.array([_point_rain(storm, zq, h) for h in range(HOURS)])  # hours × stations
    kernel = np.array([0.05, 0.15, 0.25, 0.25, 0.15, 0.1, 0.05])
    response = np.array([np.convolve(rain[:, i], kernel)[:HOURS] for i in range(len(zq))]).T
    scale = (zq.grz.to_numpy() + 0.4 - (zq.wrz.to_numpy() - 2.5)) / max(response.max(), 1e-6)
    z = zq.wrz.to_numpy() - 2.5 + response * scale
    q = 35.0 * np.clip(z - (zq.wrz.to_numpy() - 4.5), 0, None) ** 1.6
    out = []
    for h, t in enumerate(hours):
        end = t + timedelta(hours=1)
        rising = (z[h] > z[h - 1]) if h else np.ones(len(zq), dtype=bool)
        frame = pd.DataFrame(
            {
                "STCD": zq.stcd.to_numpy(),
                "TM": _beijing(end),
                "Z": np.round(z[h], 2),
                "Q": np.round(q[h], 1),
                "WPTN": np.where(rising, 5, 4),
            }
        )
        path = out_dir / f"{_stamp(end + timedelta(minutes=10))}_ST_RIVER_R.csv"
        frame.to_csv(path, index=False)
        out.append(path)
    return out


def _reservoirs(stations, reservoirs, limits, storm, hours, out_dir) -> list[Path]:
    """Levels start just under 汛限水位 and rise above it as the storm fills the reservoirs."""
    rr = stations[stations.sttp == "RR"].merge(reservoirs, on="stcd")
    season = limits[limits.bgmd == "0701"].set_index("stcd").fsltdz
    limit = rr.stcd.map(season).to_numpy()
    rain = np.array([_point_rain(storm, rr, h) for h in range(HOURS)])
    filled = np.cumsum(rain, axis=0)
    rz = limit - 0.8 + filled / max(filled.max(), 1e-6) * 2.0
    out = []
    for h, t in enumerate(hours):
        end = t + timedelta(hours=1)
        frame = pd.DataFrame(
            {
                "STCD": rr.stcd.to_numpy(),
                "TM": _beijing(end),
                "RZ": np.round(rz[h], 2),
                "INQ": np.round(rain[h] * 4.0 + 2, 1),
                "OTQ": np.round(np.where(rz[h] > limit, 25.0, 3.0), 1),
                "W": np.round(rr.total_capacity.to_numpy() * 0.75, 3),
            }
        )
        path = out_dir / f"{_stamp(end + timedelta(minutes=10))}_ST_RSVR_R.csv"
        frame.to_csv(path, index=False)
        out.append(path)
    return out


def _risk_polygon(storm, outline, start, out_dir) -> Path:
    """The joint natural-resources/meteorology geohazard risk warning: orange core, yellow belt."""
    track = shapely.LineString([storm.centre(3), storm.centre(15)])
    orange = shapely.intersection(track.buffer(0.12), outline.buffer(0.05))
    yellow = shapely.difference(
        shapely.intersection(track.buffer(0.25), outline.buffer(0.1)), orange
    )
    issued = start + timedelta(hours=2)
    valid_to = issued + timedelta(hours=24)
    features = [
        {
            "type": "Feature",
            "properties": {
                "level": level,
                "valid_from": issued.astimezone(BEIJING).isoformat(),
                "valid_to": valid_to.astimezone(BEIJING).isoformat(),
                "issued_at": issued.astimezone(BEIJING).isoformat(),
                "issuer": "怀化市自然资源和规划局 怀化市气象局",
            },
            "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-5)),
        }
        for level, geom in ((2, orange), (3, yellow))
    ]
    path = out_dir / f"{_stamp(issued)}_geohazard_risk.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def _hotspots(outline, start, out_dir, rng) -> Path:
    """Three VIIRS detections in the county's hills the afternoon before the storm."""
    from riskmap.geo.demo.partition import sample_points

    pts = shapely.get_coordinates(sample_points(outline, 3, seed=int(rng.integers(1 << 30))))
    when = start - timedelta(hours=18)
    frame = pd.DataFrame(
        {
            "latitude": np.round(pts[:, 1], 5),
            "longitude": np.round(pts[:, 0], 5),
            "bright_ti4": [338.2, 351.9, 329.4],
            "scan": [0.39, 0.41, 0.44],
            "track": [0.36, 0.37, 0.38],
            "acq_date": when.strftime("%Y-%m-%d"),
            "acq_time": when.strftime("%H%M"),
            "satellite": "N",
            "confidence": ["n", "h", "n"],
            "version": "2.0NRT",
            "bright_ti5": [296.1, 301.7, 294.8],
            "frp": [6.4, 18.9, 3.2],
            "daynight": "D",
        }
    )
    path = out_dir / f"{_stamp(when + timedelta(hours=3))}_firms_viirs.csv"
    frame.to_csv(path, index=False)
    return path


# -- the meteorological bureau's rainstorm signal (CAP 1.2, GB/T 35965.1 identifiers) -----------

_SENDER = "431226000000@hn.cma.gov.cn"  # synthetic sender of the county 气象台


def _cap_identifier(t: datetime) -> str:
    """GB/T 35965.1 form: 6-digit area, 3-digit department, 3-digit unit, 2 spare, time, serial."""
    return f"43122602000100_{t.astimezone(BEIJING).strftime('%Y%m%d%H%M%S')}_1"


def _polygon(outline) -> str:
    hull = shapely.simplify(shapely.convex_hull(outline), 0.005)
    return " ".join(f"{y:.4f},{x:.4f}" for x, y in shapely.get_coordinates(hull))


def _cap_signals(demo, outline, start, out_dir) -> list[Path]:
    name = demo.county.name
    steps = [
        (start + timedelta(hours=2), "Alert", "orange", "橙色", "Severe", "Likely", None),
        (start + timedelta(hours=5), "Update", "red", "红色", "Extreme", "Observed", 0),
        (start + timedelta(hours=16), "Cancel", "red", "红色", "Extreme", "Observed", 1),
    ]
    sent_ids: list[tuple[str, str]] = []
    out = []
    for when, msg_type, colour, zh, severity, certainty, ref in steps:
        ident = _cap_identifier(when)
        sent = when.astimezone(BEIJING).isoformat()
        refs = (
            f"<references>{_SENDER},{sent_ids[ref][0]},{sent_ids[ref][1]}</references>"
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
  <sender>{_SENDER}</sender>
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
      <polygon>{_polygon(outline)}</polygon>
      <geocode><valueName>GB/T 2260</valueName><value>{demo.county.code}</value></geocode>
    </area>
  </info>
</alert>
"""
        path = out_dir / f"{_stamp(when)}_cap_rainstorm_{msg_type.lower()}.xml"
        path.write_text(xml, encoding="utf-8")
        sent_ids.append((ident, sent))
        out.append(path)
    return out
