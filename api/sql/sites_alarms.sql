-- Alarms of points (threshold alarms and device faults) in the caller's area (%(area)s),
-- newest first: open ones only unless %(all)s; %(site)s / %(kind)s narrow them.
SELECT a.id, p.site_id, s.name AS site_name, s.kind AS site_kind, a.point_id,
       p.name AS point_name, p.item, p.unit, a.kind, a.fault_kind, a.level, a.max_level,
       a.began_at, a.opened_at, a.last_at, a.cleared_at, a.peak, a.value, a.flapping,
       a.suppressed, a.event_id, (a.cleared_at IS NULL) AS open
FROM ws_alarm a
JOIN ws_point p ON p.id = a.point_id
JOIN hazardous_site s ON s.id = p.site_id
WHERE (%(area)s::text IS NULL OR s.admin_code LIKE %(area)s::text || '%%')
  AND (%(all)s OR a.cleared_at IS NULL)
  AND (%(site)s::text IS NULL OR p.site_id = %(site)s::text)
  AND (%(kind)s::text IS NULL OR a.kind = %(kind)s::text)
ORDER BY a.opened_at DESC, a.id DESC
LIMIT %(limit)s;
