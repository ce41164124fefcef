-- Warnings received from other agencies (气象 etc., CAP feeds) sent during [%(d0)s, %(d1)s)
-- whose area touches the report's area (any admin unit of the area, by geometry).
SELECT DISTINCT ON (a.id) a.sent, a.msg_type, a.sender, i.event, i.severity, i.headline,
       i.sender_name
FROM cap_alert a
JOIN cap_info i ON i.alert_id = a.id
WHERE a.sent >= %(d0)s AND a.sent < %(d1)s AND a.status = 'Actual'
  AND (%(area)s::text IS NULL OR EXISTS (
        SELECT 1 FROM cap_area ca JOIN admin_unit u ON ST_Intersects(u.geom, ca.geom)
        WHERE ca.alert_id = a.id AND u.level = 'county' AND u.code LIKE %(area)s || '%%'))
ORDER BY a.id, i.ordinal;
