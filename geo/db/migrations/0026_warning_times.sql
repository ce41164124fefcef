-- depends: 0024_tile_cut
-- Warning times with one source of truth, villages that leave an area, candidates that yield.
--
-- 1. A warning's expiry is the <expires> of the CAP message that put it in force: the latest
--    published version that is not a Cancel, or the draft while it was never published.
--    warning.expires_at is derived from it here, by the database, on every version write, so the
--    detail, the filters, the ATOM feed and the lifecycle cannot disagree with the CAP.
-- 2. warning_village: per warning and village, when a rule last found the village meeting a
--    condition and the numbers it found then (the warning's latest evidence: published versions
--    are immutable, so the numbers of a silent extension are kept here). A village not fired for
--    its rule's hold time leaves the area (CAP Update with the smaller area).
-- 3. Audit actions for what the lifecycle does to areas and candidates: 'trim' (villages left an
--    area, or were taken out of a candidate because a higher issued warning covers them) and
--    'suppress' (a candidate was not created or was ended because such a warning covers it all).

CREATE FUNCTION warning_expiry_of(wid bigint, current_v integer) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT v.expires FROM warning_version v
         WHERE v.warning_id = wid AND v.state = 'published' AND v.msg_type <> 'Cancel'
         ORDER BY v.version DESC LIMIT 1),
        (SELECT v.expires FROM warning_version v WHERE v.warning_id = wid AND v.version = current_v))
$$;
COMMENT ON FUNCTION warning_expiry_of(bigint, integer) IS
    'The expiry of a warning: <expires> of its latest published non-Cancel version, else its draft';

CREATE FUNCTION warning_expiry_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    e timestamptz := warning_expiry_of(
        NEW.warning_id, (SELECT current_version FROM warning WHERE id = NEW.warning_id));
BEGIN
    IF e IS NOT NULL THEN
        UPDATE warning SET expires_at = e
        WHERE id = NEW.warning_id AND expires_at IS DISTINCT FROM e;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER warning_version_expiry AFTER INSERT OR UPDATE ON warning_version
    FOR EACH ROW EXECUTE FUNCTION warning_expiry_sync();

-- the current_version pointer moves after a draft is saved: derive again when it does
CREATE FUNCTION warning_expiry_resync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.expires_at := coalesce(warning_expiry_of(NEW.id, NEW.current_version), NEW.expires_at);
    RETURN NEW;
END;
$$;
CREATE TRIGGER warning_expiry_pointer BEFORE UPDATE OF current_version, published_version, expires_at
    ON warning FOR EACH ROW EXECUTE FUNCTION warning_expiry_resync();

CREATE TABLE warning_village (
    warning_id    bigint NOT NULL REFERENCES warning (id) ON DELETE CASCADE,
    village_code  text NOT NULL,
    last_fired_at timestamptz NOT NULL,
    colour        text NOT NULL CHECK (colour IN ('blue', 'yellow', 'orange', 'red')),
    numbers       jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (warning_id, village_code)
);
COMMENT ON TABLE warning_village IS
    'When a rule last fired for each village of a warning, and the numbers (latest evidence)';

ALTER TABLE warning_audit DROP CONSTRAINT warning_audit_action_check;
ALTER TABLE warning_audit ADD CONSTRAINT warning_audit_action_check
    CHECK (action IN ('propose', 'issue', 'update', 'extend', 'escalate', 'deescalate', 'reject',
                      'cancel', 'expire', 'edit', 'trim', 'suppress'));
