-- Readings of a site's points between %(start)s and %(end)s (half-open), oldest first, at most
-- %(cap)s rows (the router asks for one more to know it was cut). %(points)s NULL: every point.
SELECT p.id AS point_id, r.tm, r.value, r.flag
FROM ws_point p
JOIN ws_reading r ON r.point_n = p.n AND r.tm >= %(start)s AND r.tm < %(end)s
WHERE p.site_id = %(id)s AND (%(points)s::text[] IS NULL OR p.id = ANY (%(points)s::text[]))
ORDER BY p.id, r.tm
LIMIT %(cap)s;
