-- Maintenance windows that can still matter to readings after %(since)s.
SELECT site_id, point_id,
       extract(epoch FROM starts_at)::float8 AS starts, extract(epoch FROM ends_at)::float8 AS ends
FROM ws_maintenance
WHERE ends_at > %(since)s
