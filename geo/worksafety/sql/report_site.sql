SELECT s.id, s.name, s.kind,
       (SELECT count(*) FROM ws_event e
        WHERE e.site_id = s.id AND e.first_at >= %(start)s AND e.first_at < %(end)s) AS events,
       (SELECT count(*) FROM ws_notice n
        WHERE n.site_id = s.id AND n.created_at >= %(start)s AND n.created_at < %(end)s)
           AS notices
FROM hazardous_site s
WHERE s.id = %(site)s;
