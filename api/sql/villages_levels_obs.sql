-- Observed river stages (ST_RIVER_R) and reservoir levels (ST_RSVR_R) of the stations in
-- [from, to], in time order.
SELECT stcd, tm, z AS level_m, q AS flow_m3s, NULL::double precision AS inflow_m3s,
       NULL::double precision AS outflow_m3s, NULL::double precision AS storage_1e6m3
FROM river_obs WHERE stcd = ANY(%(stcds)s) AND tm BETWEEN %(from)s AND %(to)s
UNION ALL
SELECT stcd, tm, rz, NULL, inq, otq, w
FROM reservoir_obs WHERE stcd = ANY(%(stcds)s) AND tm BETWEEN %(from)s AND %(to)s
ORDER BY stcd, tm;
