-- Field reports (灾情直报) observed during [%(d0)s, %(d1)s) in villages of the area.
SELECT r.id, r.kind, r.observed_at, r.status, v.name AS village_name, t.name AS township_name,
       r.people_affected, r.dead, r.injured, r.missing, r.text
FROM field_report r
JOIN admin_unit v ON v.code = r.village_code
LEFT JOIN admin_unit t ON t.code = v.parent_code
WHERE r.observed_at >= %(d0)s AND r.observed_at < %(d1)s
  AND (%(area)s::text IS NULL OR r.village_code LIKE %(area)s || '%%')
ORDER BY r.observed_at, r.id;
