-- Who holds a post (带班领导 leader / 值班长 chief / 值班员 officer) in each duty office at
-- %(at)s, from the roster (duty_shift), for the offices whose code lies in the area %(area)s
-- (a code prefix; NULL: every office). County bureaus first, then townships.
SELECT ds.org_code, a.name AS org_name, a.level AS org_level, ds.post, ds.person_id,
       p.name, p.title, p.org, p.phone AS mobile, ds.phone AS duty_phone,
       lower(ds.shift) AS shift_start, upper(ds.shift) AS shift_end
FROM duty_shift ds
JOIN person p ON p.id = ds.person_id
LEFT JOIN admin_unit a ON a.code = ds.org_code
WHERE ds.shift @> %(at)s::timestamptz
  AND (%(area)s::text IS NULL OR ds.org_code LIKE %(area)s || '%%')
ORDER BY length(ds.org_code), ds.org_code,
         CASE ds.post WHEN 'leader' THEN 0 WHEN 'chief' THEN 1 ELSE 2 END, p.name, ds.person_id;
