-- Hand-over notes of the offices in the area %(area)s (code prefix; NULL: all), optionally one
-- office (%(org)s) and one id (%(id)s), with shift changes in [%(since)s, %(until)s), oldest
-- first; each with the ids of the notes that correct it.
SELECT h.id, h.org_code, a.name AS org_name, h.shift_change, h.from_person_id, h.from_name,
       h.to_person_id, h.to_name, h.text, h.open_items, h.corrects, h.author,
       u.display_name AS author_name, h.created_at,
       coalesce((SELECT array_agg(c.id ORDER BY c.id) FROM duty_handover c
                 WHERE c.corrects = h.id), '{}') AS corrected_by
FROM duty_handover h
LEFT JOIN admin_unit a ON a.code = h.org_code
LEFT JOIN app_user u ON u.name = h.author
WHERE (%(area)s::text IS NULL OR h.org_code LIKE %(area)s || '%%')
  AND (%(org)s::text IS NULL OR h.org_code = %(org)s)
  AND (%(id)s::bigint IS NULL OR h.id = %(id)s)
  AND (%(since)s::timestamptz IS NULL OR h.shift_change >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR h.shift_change < %(until)s)
ORDER BY h.shift_change, length(h.org_code), h.org_code, h.id
LIMIT %(limit)s;
