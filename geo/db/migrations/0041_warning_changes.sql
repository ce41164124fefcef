-- depends: 0040_events_commit_order
-- An O(1) fingerprint of the warning table for the warnings page cache (issue 17). The list
-- pages were keyed by count(*) and sum(xmin) over every warning: a full scan per request that
-- grew with the history. Now a counter moves whenever a transaction changes warnings, and the
-- part that time alone changes (open warnings whose expiry has passed, which the list shows as
-- expired) is counted from a partial index over the open ones.
--
-- The counter moves at COMMIT (a deferred trigger, once per transaction), so its row lock is
-- held for the commit only and writers of warnings never wait for each other's work. The
-- triggers fire in replica mode too (ENABLE ALWAYS): the demo's reset deletes warnings so.

CREATE TABLE warning_change (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    n          bigint NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO warning_change DEFAULT VALUES;
COMMENT ON TABLE warning_change IS 'Moves on every committed change of warning (page cache key)';

CREATE FUNCTION warning_change_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_SCHEMA <> 'public' THEN
        RETURN NULL;  -- a drill's twin of warning (geo/drills/twin.py copies triggers)
    END IF;
    IF current_setting('riskmap.warning_change_xact', true)
           IS DISTINCT FROM pg_current_xact_id()::text THEN
        PERFORM set_config('riskmap.warning_change_xact', pg_current_xact_id()::text, true);
        UPDATE warning_change SET n = n + 1, changed_at = now();
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER warning_change_count AFTER INSERT OR UPDATE OR DELETE ON warning
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION warning_change_bump();
CREATE TRIGGER warning_change_truncate AFTER TRUNCATE ON warning
    FOR EACH STATEMENT EXECUTE FUNCTION warning_change_bump();
ALTER TABLE warning ENABLE ALWAYS TRIGGER warning_change_count;
ALTER TABLE warning ENABLE ALWAYS TRIGGER warning_change_truncate;

CREATE INDEX warning_open_expiry_idx ON warning (expires_at) WHERE status IN ('candidate', 'issued');
