-- depends: 0053_worksafety_site_grade 0054_tile_notify_layers
-- Issue 19: a second villages token, replaced whenever a name the rules' texts say can change —
-- a village's or a county's name (admin_unit.name), or which county a village is in (gb2260) —
-- or villages come and go. The rules engine keeps the villages (codes, names, counties) in
-- memory between runs keyed by both tokens (geo/rules/villages.py); village_version.token alone
-- (migration 0022) keys the zonal weights, which a rename must not throw away.
ALTER TABLE village_version ADD COLUMN names_token text NOT NULL DEFAULT gen_random_uuid()::text;
COMMENT ON COLUMN village_version.names_token IS
    'Token replaced whenever admin_unit names or county codes change, or rows come and go '
    '(the rules engine''s cached villages)';

CREATE FUNCTION village_names_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE village_version SET names_token = gen_random_uuid()::text, changed_at = now();
    RETURN NULL;
END
$$;
CREATE TRIGGER admin_unit_village_names_version
    AFTER INSERT OR UPDATE OF code, level, name, gb2260 OR DELETE OR TRUNCATE ON admin_unit
    FOR EACH STATEMENT EXECUTE FUNCTION village_names_version_bump();
