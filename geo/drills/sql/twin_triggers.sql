-- Triggers of the given public relations that a drill's twins keep: guards, expiry pointers,
-- the event log, the village-rain view's writers. Those that announce outside the session
-- (pg_notify: live events, tiles, dispatcher wake-ups) are left out, so no live page, tile
-- cache or real dispatcher hears of a drill.
SELECT c.relname AS table_name, t.tgname AS trigger_name, pg_get_triggerdef(t.oid) AS definition
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE n.nspname = 'public' AND c.relname = ANY(%(relations)s::text[]) AND NOT t.tgisinternal
  AND p.prosrc !~ 'pg_notify'
ORDER BY c.relname, t.tgname;
