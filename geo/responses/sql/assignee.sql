-- Who does a task at %(at)s. kind 'duty': whoever is on duty (值班) in the office
-- (%(office)s, a county or township) at the post asked for; else on duty there at another
-- post (leader, then chief, then officer). kind 'warehouse': the county warehouse's manager;
-- kind 'team': the leader of the county's team of %(specialty)s (a county-level team first).
-- Departments with nobody recorded fall back to the county office on duty. Last, the office's
-- responsible person: a township's 乡镇长 (duty township_leader), or the one holding a head's
-- title (%(head_titles)s: 局长 …) in the office.
WITH cand (pref, person_id, how) AS (
    SELECT 1, s.person_id, 'on_duty'
    FROM duty_shift s
    WHERE %(kind)s = 'duty' AND s.org_code = %(office)s AND s.post = %(post)s
      AND s.shift @> %(at)s::timestamptz
    UNION ALL
    SELECT 2 + array_position(ARRAY['leader', 'chief', 'officer'], s.post), s.person_id,
           'on_duty_other_post'
    FROM duty_shift s
    WHERE s.org_code = %(office)s AND s.shift @> %(at)s::timestamptz
      AND (%(kind)s <> 'duty' OR s.post <> %(post)s)
      AND (%(kind)s = 'duty' OR s.post = 'chief')
    UNION ALL
    SELECT 1, w.manager_id, 'manager'
    FROM warehouse w
    WHERE %(kind)s = 'warehouse' AND w.level = 'county' AND w.admin_code = %(office)s
      AND w.manager_id IS NOT NULL
    UNION ALL
    SELECT CASE t.level WHEN 'county' THEN 1 ELSE 2 END, t.leader_id, 'team_leader'
    FROM rescue_team t
    WHERE %(kind)s = 'team' AND t.specialty = %(specialty)s AND left(t.admin_code, 6) = %(office)s
      AND t.leader_id IS NOT NULL
    UNION ALL
    SELECT 20, d.person_id, 'responsible'
    FROM duty d WHERE d.role = 'township_leader' AND d.admin_code = %(office)s
    UNION ALL
    SELECT 21, p.id, 'responsible'
    FROM person p WHERE p.admin_code = %(office)s AND p.title = ANY (%(head_titles)s::text[])
)
SELECT c.person_id, p.name, p.phone, c.how
FROM cand c JOIN person p ON p.id = c.person_id
ORDER BY c.pref, c.person_id
LIMIT 1;
