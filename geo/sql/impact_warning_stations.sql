-- The stations a warning's current version names in its evidence (any string value of a
-- village's numbers that is a station code), e.g. the reservoir that raised it.
WITH ev AS (
    SELECT v.evidence
    FROM warning w JOIN warning_version v ON v.warning_id = w.id AND v.version = w.current_version
    WHERE w.id = %(id)s
),
val AS (
    SELECT x.value #>> '{}' AS text
    FROM ev, jsonb_each(coalesce(ev.evidence -> 'villages', '{}'::jsonb)) AS vill (code, numbers),
         jsonb_each(CASE jsonb_typeof(vill.numbers) WHEN 'object' THEN vill.numbers
                         ELSE '{}'::jsonb END) AS x (key, value)
    WHERE jsonb_typeof(x.value) = 'string'
)
SELECT DISTINCT s.stcd, s.sttp FROM val JOIN station s ON s.stcd = val.text ORDER BY s.stcd;
