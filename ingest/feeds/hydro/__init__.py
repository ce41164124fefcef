"""Station hydrology: SL 323 rain and water tables (CSV, JSON), OGC WaterML 2.0, USGS NWIS JSON.

Kinds
-----
``hydro-sl323``
    Exports of the Chinese real-time rain and water database (SL 323, 实时雨水情数据库):

    * ``ST_PPTN_R`` rainfall → ``rain_obs`` (STCD, TM, DRP, INTV, PDR, DYP, WTH);
    * ``ST_RIVER_R`` river stage and flow → ``river_obs`` (STCD, TM, Z, Q, XSA, FLWCHRCD, WPTN);
    * ``ST_RSVR_R`` reservoir → ``reservoir_obs`` (STCD, TM, RZ, INQ, OTQ, W, BLRZ, RWPTN);
    * ``ST_STBPRP_B`` station base information → upsert into ``station``.

    Other SL 323 columns (XSAVV, XSMXV, MSQMT, INQDR, ...) are accepted and not kept.

    **CSV**: a header row with the SL 323 column names in any case; comma or tab separated;
    UTF-8 with or without BOM, UTF-16 with BOM, or GBK/GB 18030. The table is named by a file
    name starting with the table name (``ST_PPTN_R_2024.csv``) or recognised from the columns.
    CSV files are streamed in chunks of :data:`.sl323_csv.CHUNK_ROWS` rows, checked one chunk
    ahead of the load in a worker thread and staged by binary COPY, so memory stays bounded
    whatever the file size.

    **JSON** (read whole; keys in any case):

    * a list of records of one table: ``[{"STCD": "60420100", "TM": "...", "DRP": 1.5}, ...]``;
    * one table: ``{"table": "ST_PPTN_R", "units": {"DRP": "mm"}, "rows": [...]}``;
    * a bundle: ``{"tables": [{"table": "ST_STBPRP_B", "rows": [...]}, {...}]}`` (or a list
      of such table objects). Stations are loaded first, so observations may refer to the
      stations the same file registers.

    ``units`` is optional; SL 323 units are the default (mm, m, m³/s, m², 10⁶ m³). Known
    alternatives are converted (cm, in, ft, ft3/s, L/s, ...); an unknown unit quarantines every
    record carrying a value in that column.

``hydro-waterml2``
    OGC WaterML 2.0 ``wml2:Collection`` of ``om:OM_Observation`` with a
    ``wml2:MeasurementTimeseries``. Discharge → ``river_obs.q``, stage / gage height →
    ``river_obs.z``, precipitation → ``rain_obs.drp``, converted from the ``wml2:uom``. The
    ``wml2:MonitoringPoint`` registers or updates the station (name, position); its code is the
    first 8-character token of the point's identifier (USGS site numbers are 8 digits).

``hydro-nwis-json``
    USGS NWIS WaterML-JSON (``ns1:timeSeriesResponseType``, instantaneous and daily values):
    00060 discharge (ft³/s → m³/s), 00065 gage height (ft → m), 00045 precipitation
    (in → mm). The series' ``sourceInfo`` registers the site as a station. Other parameters
    (temperature, conductance, ...) are skipped; the ``noDataValue`` (-999999) is a problem.

Times
-----
SL 323 ``TM`` is Beijing time without a zone by convention: a naive time in an SL 323 file is
read as UTC+8 (fixed offset; China has had no daylight saving since 1991) and stored in UTC.
An explicit offset (``2024-07-01T08:00:00+08:00``, ``...Z``) is honoured. WaterML and NWIS
times carry their offset; one without (including date-only daily values such as ``2014-09-01``)
cannot be placed in UTC and is a problem, never guessed.

Validation
----------
Per record, quarantined as a :class:`~riskmap.ingest.batch.Problem` naming line / entry and field:
a station code that is not 8 characters ``[0-9A-Z]``, a station unknown to ``station`` and not
registered by the same file, an unparseable, out-of-range or future time, a non-numeric value,
sentinels (99999, -99, -999999, ...), negative rainfall, more than 300 mm in a period of an
hour or less, trend codes other than 4/5/6, unknown units. Rows with the same STCD and TM:
the last one wins and the others count as duplicates. Across files the value stored first is
kept (``ON CONFLICT DO NOTHING``): re-sent, overlapping exports count as duplicates, and a
corrected value needs the old row deleted first. A file that cannot be read at all (not
text, no recognisable SL 323 columns, empty) raises :class:`~riskmap.ingest.batch.FeedReadError`.

After rain observations load,
:func:`riskmap.geo.gauge_rain.write_village_gauge_rain` writes the hourly 'gauge' rain of the
villages in the affected gauges' rain areas.

Modules
-------
One module per format (:mod:`.sl323_csv`, :mod:`.sl323_json`, :mod:`.waterml2`,
:mod:`.nwis_json`) over shared parts: :mod:`.tables` (SL 323 tables, station types, units),
:mod:`.times`, :mod:`.checks` (validation of one frame), :mod:`.series` (WaterML / NWIS points
and sites), :mod:`.loads`; :mod:`.feeds` holds the three feed objects this package registers.
"""

from __future__ import annotations

from riskmap.ingest.feeds.hydro.feeds import NwisJsonFeed, Sl323Feed, WaterML2Feed
from riskmap.ingest.feeds.hydro.loads import STATION_DATASET
from riskmap.ingest.feeds.hydro.nwis_json import parse_nwis_json
from riskmap.ingest.feeds.hydro.sl323_csv import parse_sl323_csv
from riskmap.ingest.feeds.hydro.sl323_json import parse_sl323_json
from riskmap.ingest.feeds.hydro.tables import identify_table
from riskmap.ingest.feeds.hydro.times import sl323_times, zoned_times
from riskmap.ingest.feeds.hydro.waterml2 import parse_waterml2
from riskmap.ingest.registry import register

register(Sl323Feed())
register(WaterML2Feed())
register(NwisJsonFeed())

__all__ = [
    "STATION_DATASET",
    "identify_table",
    "parse_nwis_json",
    "parse_sl323_csv",
    "parse_sl323_json",
    "parse_waterml2",
    "sl323_times",
    "zoned_times",
]
