-- The county variables of the plans (geo/plans/variables.py documents each) as of %(at)s:
-- rows (county, name, value); a variable without a row is 0.
WITH county AS (
    SELECT c.code, c.geom
    FROM admin_unit c
    WHERE c.level = 'county'
      AND (%(counties)s::text[] IS NULL OR c.code = ANY (%(counties)s::text[]))
),
-- villages under issued, real warnings in force (migration 0033)
warned AS (
    SELECT DISTINCT left(village_code, 6) AS county, village_code AS village, hazard, colour,
           action
    FROM warned_villages_at(%(at)s)
),
warning_vars AS (
    SELECT county, 'villages_' || colour || '_' || hazard AS name, count(DISTINCT village) AS n
    FROM warned GROUP BY county, colour, hazard
    UNION ALL
    SELECT county, 'villages_' || colour, count(DISTINCT village) FROM warned GROUP BY 1, 2
    UNION ALL
    SELECT county, 'villages_' || hazard, count(DISTINCT village) FROM warned GROUP BY 1, 2
    UNION ALL
    SELECT county, 'villages_warned', count(DISTINCT village) FROM warned GROUP BY 1
    UNION ALL
    SELECT county, 'villages_' || action, count(DISTINCT village)
    FROM warned WHERE action IS NOT NULL GROUP BY 1, 2
    UNION ALL
    SELECT e.county, 'people_evacuate_now', coalesce(sum(v.population), 0)
    FROM (SELECT DISTINCT county, village FROM warned WHERE action = 'evacuate_now') e
    JOIN admin_unit v ON v.code = e.village
    GROUP BY 1
),
-- river gauges: the latest stage within six hours against 警戒 / 保证水位
river AS (
    SELECT s.addvcd::text AS county, o.z, i.wrz, i.grz
    FROM station s
    JOIN river_indicator i USING (stcd)
    JOIN LATERAL (
        SELECT r.z FROM river_obs r
        WHERE r.stcd = s.stcd AND r.z IS NOT NULL
          AND r.tm <= %(at)s AND r.tm > %(at)s - interval '6 hours'
        ORDER BY r.tm DESC LIMIT 1
    ) o ON true
),
-- reservoirs: the latest level within six hours against the day's 汛限水位, design and check
reservoir_now AS (
    SELECT s.addvcd::text AS county, o.rz, r.design_flood_z, r.check_flood_z,
           (SELECT f.fsltdz FROM reservoir_flood_limit f
            WHERE f.stcd = s.stcd
              AND CASE WHEN f.bgmd <= f.edmd THEN d.mmdd BETWEEN f.bgmd AND f.edmd
                       ELSE d.mmdd >= f.bgmd OR d.mmdd <= f.edmd END
            ORDER BY f.fstp LIMIT 1) AS flood_limit
    FROM station s
    JOIN reservoir r USING (stcd)
    CROSS JOIN (SELECT to_char(%(at)s::timestamptz AT TIME ZONE 'Asia/Shanghai', 'MMDD') AS mmdd) d
    JOIN LATERAL (
        SELECT x.rz FROM reservoir_obs x
        WHERE x.stcd = s.stcd AND x.rz IS NOT NULL
          AND x.tm <= %(at)s AND x.tm > %(at)s - interval '6 hours'
        ORDER BY x.tm DESC LIMIT 1
    ) o ON true
),
hydro_vars AS (
    SELECT county, 'stations_over_warning' AS name, count(*) FILTER (WHERE z >= wrz) AS n
    FROM river GROUP BY 1
    UNION ALL
    SELECT county, 'stations_over_guarantee', count(*) FILTER (WHERE z >= grz) FROM river GROUP BY 1
    UNION ALL
    SELECT county, 'reservoirs_over_limit', count(*) FILTER (WHERE rz >= flood_limit)
    FROM reservoir_now GROUP BY 1
    UNION ALL
    SELECT county, 'reservoirs_over_design', count(*) FILTER (WHERE rz >= design_flood_z)
    FROM reservoir_now GROUP BY 1
    UNION ALL
    SELECT county, 'reservoirs_over_check', count(*) FILTER (WHERE rz >= check_flood_z)
    FROM reservoir_now GROUP BY 1
),
quake AS (
    SELECT e.magnitude, e.geom FROM earthquake e
    WHERE e.origin_time <= %(at)s AND e.origin_time > %(at)s - interval '24 hours'
      AND e.magnitude IS NOT NULL AND coalesce(e.status, '') <> 'deleted'
      AND coalesce(e.event_type, 'earthquake') = 'earthquake'
),
-- regional geohazard risk areas in force (level 1 red, 2 orange) over the county's points
risk_points AS (
    SELECT left(h.village_code, 6) AS county, h.id, h.threatened_people, min(g.level) AS level
    FROM hazard_point h
    JOIN geohazard_risk_area g ON ST_Intersects(g.geom, h.geom)
    WHERE g.valid_from <= %(at)s AND %(at)s < g.valid_to AND g.level <= 2
    GROUP BY 1, 2, 3
),
-- sensors beyond their alarm value: the latest reading of the last 24 hours
sensor_now AS (
    SELECT coalesce(left(hs.admin_code, 6), left(hp.village_code, 6)) AS county,
           s.site_id, s.hazard_point_id,
           CASE s.alarm_when WHEN 'above' THEN o.value >= s.alarm_value
                             ELSE o.value <= s.alarm_value END AS over
    FROM sensor s
    LEFT JOIN hazardous_site hs ON hs.id = s.site_id
    LEFT JOIN hazard_point hp ON hp.id = s.hazard_point_id
    JOIN LATERAL (
        SELECT x.value FROM sensor_obs x
        WHERE x.sensor_id = s.id AND x.tm <= %(at)s AND x.tm > %(at)s - interval '24 hours'
        ORDER BY x.tm DESC LIMIT 1
    ) o ON true
    WHERE s.alarm_value IS NOT NULL
),
other_vars AS (
    SELECT c.code AS county, 'quake_magnitude_24h' AS name,
           (SELECT max(q.magnitude) FROM quake q
            WHERE ST_DWithin(q.geom::geography, c.geom::geography, 200000)) AS n
    FROM county c
    UNION ALL
    SELECT c.code, 'quake_magnitude_local_24h',
           (SELECT max(q.magnitude) FROM quake q WHERE ST_Intersects(q.geom, c.geom))
    FROM county c
    UNION ALL
    SELECT c.code, 'hotspots_24h',
           (SELECT count(*) FROM hotspot h
            WHERE h.acquired_at <= %(at)s AND h.acquired_at > %(at)s - interval '24 hours'
              AND ST_Intersects(h.geom, c.geom))
    FROM county c
    UNION ALL
    SELECT c.code, 'fire_danger_max',
           (SELECT max(f.level) FROM fire_danger f
            WHERE f.valid_from <= %(at)s AND %(at)s < f.valid_to
              AND (starts_with(f.area_code, c.code)
                   OR starts_with(c.code, regexp_replace(f.area_code, '(00)+$', ''))
                   OR ST_Intersects(f.geom, c.geom)))
    FROM county c
    UNION ALL
    SELECT county, 'hazard_points_red_risk', count(*) FILTER (WHERE level = 1)
    FROM risk_points GROUP BY 1
    UNION ALL
    SELECT county, 'hazard_points_orange_risk', count(*) FILTER (WHERE level = 2)
    FROM risk_points GROUP BY 1
    UNION ALL
    SELECT county, 'people_red_risk', coalesce(sum(threatened_people) FILTER (WHERE level = 1), 0)
    FROM risk_points GROUP BY 1
    UNION ALL
    SELECT county, 'site_sensors_over_alarm', count(*) FILTER (WHERE over AND site_id IS NOT NULL)
    FROM sensor_now GROUP BY 1
    UNION ALL
    SELECT county, 'sites_over_alarm', count(DISTINCT site_id) FILTER (WHERE over)
    FROM sensor_now GROUP BY 1
    UNION ALL
    SELECT county, 'hazard_sensors_over_alarm',
           count(*) FILTER (WHERE over AND hazard_point_id IS NOT NULL)
    FROM sensor_now GROUP BY 1
    UNION ALL
    SELECT left(r.village_code, 6), x.name, x.n
    FROM (SELECT village_code, dead, missing, injured,
                 CASE WHEN kind IN ('flood', 'waterlogging') THEN 'flood'
                      WHEN kind IN ('landslide', 'collapse', 'debris_flow') THEN 'geohazard'
                      WHEN kind = 'fire' THEN 'fire' END AS grp
          FROM field_report
          WHERE status <> 'false'
            AND observed_at <= %(at)s AND observed_at > %(at)s - interval '24 hours') r
    CROSS JOIN LATERAL (VALUES ('reports_24h', 1), ('dead_24h', coalesce(r.dead, 0)),
                               ('missing_24h', coalesce(r.missing, 0)),
                               ('injured_24h', coalesce(r.injured, 0)),
                               ('dead_' || r.grp || '_24h', coalesce(r.dead, 0)),
                               ('missing_' || r.grp || '_24h', coalesce(r.missing, 0))) AS x (name, n)
    WHERE x.name IS NOT NULL
)
SELECT a.county, a.name, sum(a.n)::float8 AS value
FROM (SELECT county, name, n FROM warning_vars
      UNION ALL SELECT county, name, n FROM hydro_vars
      UNION ALL SELECT county, name, n FROM other_vars) a
JOIN county c ON c.code = a.county
GROUP BY a.county, a.name;
