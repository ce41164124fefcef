"""Load site configuration files into ws_site / ws_point / ws_threshold, all files or none.

A reload replaces what a site's file says, but upserts points by id instead of deleting and
inserting them: ``ws_point.n`` is an identity that readings use as their key, so a point that
stays keeps its number. Points the file no longer lists are deleted (their readings stay in
``ws_reading`` under the old number, which is never reused).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import yaml

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import DataError
from riskmap.geo.worksafety.config import SiteConfig, parse_config

SQL = SqlFiles("riskmap.geo.worksafety.sql")


@dataclass(frozen=True)
class SiteFile:
    """A validated site configuration and where it came from."""

    source: str
    config: SiteConfig
    sha256: str


@dataclass
class LoadSummary:
    """What a load did, per site: points added, kept (same n) and removed."""

    sites: list[str] = field(default_factory=list)
    added: int = 0
    kept: int = 0
    removed: list[str] = field(default_factory=list)
    thresholds: int = 0


def config_paths(paths: Sequence[Path]) -> list[Path]:
    """The YAML files named, or found (sorted) in the folders named."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
            if not found:
                raise DataError(f"{path}: no .yaml site configuration files in this folder")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise DataError(f"{path}: no such file or folder")
    return out


def read_site_files(paths: Sequence[Path]) -> list[SiteFile]:
    """Read and validate every file (folders expanded), then check them against each other."""
    files = []
    for path in config_paths(paths):
        try:
            raw = path.read_bytes()
            data = yaml.safe_load(raw.decode("utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise DataError(f"{path}: cannot read YAML: {exc}") from None
        files.append(
            SiteFile(str(path), parse_config(data, str(path)), hashlib.sha256(raw).hexdigest())
        )
    check_together(files)
    return files


def site_file(data: dict, source: str) -> SiteFile:
    """A configuration given as data (the demo's), hashed as canonical JSON."""
    canon = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
    return SiteFile(source, parse_config(data, source), hashlib.sha256(canon).hexdigest())


def check_together(files: Sequence[SiteFile]) -> None:
    """No site, point id or HJ 212 code may appear in two files of one load."""
    sites: dict[str, str] = {}
    points: dict[str, str] = {}
    codes: dict[tuple[str, str], str] = {}
    for f in files:
        if f.config.site in sites:
            raise DataError(f"{f.source}: site {f.config.site} is also in {sites[f.config.site]}")
        sites[f.config.site] = f.source
        for _item, p, _alarm in f.config.points():
            if p.id in points:
                raise DataError(f"{f.source}: point {p.id} is also in {points[p.id]}")
            points[p.id] = f.source
            if p.mn is not None:
                key = (p.mn, p.factor)
                if key in codes:
                    raise DataError(
                        f"{f.source}: point {p.id} mn {p.mn} factor {p.factor} is also in "
                        f"{codes[key]}"
                    )
                codes[key] = f.source


def load_sites(
    conn: psycopg.Connection, files: Sequence[SiteFile], *, dataset_id: str | None = None
) -> LoadSummary:
    """Write every file in one transaction; any bad file rolls all back, named in the error.

    ``dataset_id``: the dataset the rows belong to (the demo's); by default each file gets its
    own ``site-config-<site>`` dataset recording the file and its hash.
    """
    check_together(files)
    summary = LoadSummary()
    with conn.transaction():
        kinds = dict(
            SQL.rows(conn, "site_kinds.sql", {"ids": [f.config.site for f in files]}, shape="tuple")
        )
        contacts = [f.config.maintenance_contact for f in files if f.config.maintenance_contact]
        known = {
            r[0] for r in SQL.rows(conn, "persons_known.sql", {"ids": contacts}, shape="tuple")
        }
        for f in files:
            _check_refs(f, kinds, known)
        conn.execute(
            SQL("release_codes.sql"),
            {
                "ids": [p.id for f in files for _i, p, _a in f.config.points()],
                "sites": [f.config.site for f in files],
            },
        )
        for f in files:
            try:
                _load_one(conn, f, dataset_id, summary)
            except psycopg.errors.IntegrityError as exc:
                raise DataError(f"{f.source}: {exc.diag.message_primary}") from None
    return summary


def _check_refs(f: SiteFile, kinds: dict[str, str], known: set[str]) -> None:
    cfg = f.config
    if cfg.site not in kinds:
        raise DataError(f"{f.source}: site {cfg.site}: no such hazardous_site")
    if cfg.maintenance_contact and cfg.maintenance_contact not in known:
        raise DataError(
            f"{f.source}: field maintenance_contact: no person {cfg.maintenance_contact}"
        )
    try:
        cfg.check_kind(kinds[cfg.site])
    except ValueError as exc:
        raise DataError(f"{f.source}: site {cfg.site}: {exc}") from None


def _load_one(
    conn: psycopg.Connection, f: SiteFile, dataset_id: str | None, summary: LoadSummary
) -> None:
    cfg = f.config
    ds = dataset_id or _dataset_id(cfg.site)
    if dataset_id is None:
        conn.execute(
            SQL("upsert_dataset.sql"),
            {
                "id": ds,
                "title": f"{cfg.site} 监测点配置 / site monitoring configuration",
                "synthetic": False,
                "source": f.source,
                "licence": "internal",
                "attribution": "site design (设计单位) via the bureau's configuration",
                "params": json.dumps({"sha256": f.sha256}),
            },
        )
    conn.execute(
        SQL("upsert_site.sql"),
        {
            "site_id": cfg.site,
            "section": cfg.supervising_section,
            "contact": cfg.maintenance_contact,
            "auto_issue": cfg.auto_issue,
            "config": json.dumps(cfg.stored(), ensure_ascii=False),
            "sha256": f.sha256,
            "dataset_id": ds,
        },
    )
    points = cfg.points()
    ids = [p.id for _i, p, _a in points]
    gone = SQL.rows(
        conn, "delete_gone_points.sql", {"site_id": cfg.site, "ids": ids}, shape="tuple"
    )
    summary.removed.extend(r[0] for r in gone)
    for item, p, _alarm in points:
        row = SQL.one(
            conn,
            "upsert_point.sql",
            {
                "id": p.id,
                "site_id": cfg.site,
                "item": item,
                "quantity": p.quantity,
                "name": p.name,
                "unit": p.unit,
                "direction": p.direction,
                "phys_min": p.phys_min,
                "phys_max": p.phys_max,
                "max_jump": p.max_jump,
                "mn": p.mn,
                "factor": p.factor,
                "dataset_id": ds,
                "lon": p.lon,
                "lat": p.lat,
            },
            shape="tuple",
        )
        if row[1]:
            summary.added += 1
        else:
            summary.kept += 1
    conn.execute(SQL("delete_thresholds.sql"), {"ids": ids})
    with conn.cursor() as cur:
        rows = [
            {"point_id": p.id, "level": lv, "value": v}
            for _i, p, _a in points
            for lv, v in p.thresholds.items()
        ]
        cur.executemany(SQL("insert_threshold.sql"), rows)
    summary.thresholds += len(rows)
    summary.sites.append(cfg.site)


def _dataset_id(site: str) -> str:
    """``site-config-<site>`` in the form dataset ids take (lower case, 63 characters)."""
    return ("site-config-" + re.sub(r"[^a-z0-9_.:-]", "-", site.lower()))[:63]


__all__ = ["LoadSummary", "SiteFile", "config_paths", "load_sites", "read_site_files", "site_file"]
