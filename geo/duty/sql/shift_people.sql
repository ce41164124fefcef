-- Everyone on the outgoing shift (ending at %(t)s) and the incoming one (starting at %(t)s) of
-- office %(org)s: side 'from' (交班) or 'to' (接班), chiefs first.
SELECT CASE WHEN upper(ds.shift) = %(t)s::timestamptz THEN 'from' ELSE 'to' END AS side,
       ds.post, ds.person_id, p.name
FROM duty_shift ds
JOIN person p ON p.id = ds.person_id
WHERE ds.org_code = %(org)s
  AND (upper(ds.shift) = %(t)s::timestamptz OR lower(ds.shift) = %(t)s::timestamptz)
ORDER BY side, CASE ds.post WHEN 'chief' THEN 0 WHEN 'leader' THEN 1 ELSE 2 END, p.name;
