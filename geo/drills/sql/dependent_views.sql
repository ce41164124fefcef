-- Views in public that read any of the given relations (directly), with their definitions as
-- printed under search_path = public (unqualified names, so re-created in a drill schema they
-- read the drill's twins).
SELECT DISTINCT v.relname AS view_name, pg_get_viewdef(v.oid) AS definition
FROM pg_depend d
JOIN pg_rewrite r ON r.oid = d.objid
JOIN pg_class v ON v.oid = r.ev_class
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_namespace n ON n.oid = v.relnamespace
JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE v.relkind = 'v' AND n.nspname = 'public' AND tn.nspname = 'public'
  AND t.relname = ANY(%(relations)s::text[]) AND v.oid <> t.oid
ORDER BY v.relname;
