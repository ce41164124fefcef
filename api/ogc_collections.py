"""The feature collections riskmap serves through OGC API – Features (``/ogc``).

Each collection is one static SQL file in ``api/sql`` (``ogc_<id>.sql``) that filters, counts,
pages and builds the GeoJSON features in PostGIS. Every such file takes the same parameters:
``bbox`` (EWKT or NULL), ``t0`` / ``t1`` (the datetime interval, NULL for open ends), ``id``,
``township_code``, ``village_code``, ``area`` (the caller's area prefix, ``api/areas.py``: a
user bound to a city or county gets that area's features only), ``limit`` and ``offset``, and
returns one row with ``matched`` (all hits) and ``features`` (the page as a JSON array, as text).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Collection:
    """One feature collection: what users read about it and how it is queried."""

    id: str
    title: str  # zh-CN first, English second
    description: str
    sql: str  # file name in api/sql
    public: bool = False  # readable without a token (only issued warnings are)
    temporal: bool = False  # features carry a time the ``datetime`` parameter filters on
    filters: tuple[str, ...] = ()  # property filters accepted as query parameters


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "villages",
            "村（社区） Villages and communities",
            "村/社区：12 位统计用区划代码、所属乡镇、人口户数、各灾种风险等级与生效预警最高颜色。"
            " Villages with their 12-digit code, township, population and households, the risk"
            " level (1 low … 4 very high) per hazard and the highest colour of issued warnings.",
            "ogc_villages.sql",
            filters=("township_code",),
        ),
        Collection(
            "townships",
            "乡镇（街道） Townships",
            "乡镇/街道：人口户数、村数与辖区内生效预警最高颜色。"
            " Townships with population, households, villages and the highest warning colour.",
            "ogc_townships.sql",
        ),
        Collection(
            "stations",
            "雨水情测站 Rain, river and reservoir stations",
            "测站（SL 323）及最新观测：水位对比警戒/保证水位或汛限水位，1/3/6/24 小时雨量。"
            " Stations with their latest reading: stage against the warning and guarantee stages"
            " or the flood-limit level, rain over 1, 3, 6 and 24 hours. A station's time is that"
            " of its latest reading.",
            "ogc_stations.sql",
            temporal=True,
        ),
        Collection(
            "hazard-points",
            "地质灾害隐患点 Geohazard hazard points",
            "隐患点：类型、规模、威胁人口户数与财产、预警信号与撤离路线。"
            " Hazard points: kind, scale, threatened people, households and property, the"
            " evacuation card's signal and route.",
            "ogc_hazard_points.sql",
            filters=("township_code", "village_code"),
        ),
        Collection(
            "shelters",
            "避难场所 Shelters",
            "避难场所：容量、已安置人数与空余床位。 Shelters: capacity, occupancy and free places.",
            "ogc_shelters.sql",
            filters=("township_code",),
        ),
        Collection(
            "warehouses",
            "救灾物资储备库（点） Relief warehouses",
            "县、乡、村三级物资储备及库存清单。"
            " County, township and village relief stores with their stock.",
            "ogc_warehouses.sql",
            filters=("township_code",),
        ),
        Collection(
            "rescue-teams",
            "救援队伍 Rescue teams",
            "专业与乡镇救援队伍：专业、级别、人数与装备。"
            " Specialised and township rescue teams: specialty, level, members and equipment.",
            "ogc_rescue_teams.sql",
            filters=("township_code",),
        ),
        Collection(
            "broadcast-terminals",
            "村村响终端 Village broadcast terminals",
            "村村响广播终端：所在村、协议、喇叭数与状态。"
            " Village loudspeaker terminals: village, protocol, speakers and status.",
            "ogc_broadcast_terminals.sql",
            filters=("township_code", "village_code"),
        ),
        Collection(
            "active-warnings",
            "生效中的预警 Active warnings",
            "已发布且仍生效的预警（公众所收到的版本），几何为预警区域。"
            " Issued warnings as the public received them; the geometry is the warning area and"
            " the time the effective … expires interval. Public: no token needed.",
            "ogc_active_warnings.sql",
            public=True,
            temporal=True,
            filters=("township_code", "village_code"),
        ),
    )
}
