-- The county-level duty offices' posts during the day [%(d0)s, %(d1)s): who was leader
-- (带班领导), chief (值班长) and officer (值班员) of each shift overlapping it.
SELECT ds.org_code, a.name AS org_name, ds.post, p.name, p.title,
       lower(ds.shift) AS shift_start, upper(ds.shift) AS shift_end, ds.phone AS duty_phone
FROM duty_shift ds
JOIN person p ON p.id = ds.person_id
LEFT JOIN admin_unit a ON a.code = ds.org_code
WHERE ds.shift && tstzrange(%(d0)s, %(d1)s)
  AND length(ds.org_code) = 6
  AND (%(area)s::text IS NULL OR ds.org_code LIKE %(area)s || '%%')
ORDER BY ds.org_code, lower(ds.shift),
         CASE ds.post WHEN 'leader' THEN 0 WHEN 'chief' THEN 1 ELSE 2 END, p.name;
