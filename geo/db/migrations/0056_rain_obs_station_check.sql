-- depends: 0055_village_names_version
-- Issue 19 (station rows at 100,000/s): rain_obs.stcd → station is held by statement-level
-- triggers instead of the declared foreign key. The key's insert check is a query per row (its
-- RI trigger took 1.9 s of server CPU for 500,000 rows, more than the insert's heap and indexes);
-- one statement-level check over the new rows' distinct stations costs 0.03 s. What the key did,
-- the triggers do, with the key's name and error codes (a refused row is quarantined with the
-- same reason):
--   * a row inserted or updated must name a station: refused otherwise (foreign_key_violation),
--     and the stations it names are locked FOR KEY SHARE, as the key's check locks them, so a
--     concurrent DELETE or key change of one waits for this transaction;
--   * DELETE of a station deletes its rain rows (ON DELETE CASCADE);
--   * UPDATE of a station's code is refused while rain rows name the old code (NO ACTION);
--   * TRUNCATE station is refused while rain_obs has rows (the key refused it unless CASCADE;
--     TRUNCATE … CASCADE no longer reaches rain_obs: empty rain_obs first).
-- What is lost: the catalog no longer declares the relation (pg_constraint has no 'f' row for
-- it, so tools and the planner's join estimates do not see it); session_replication_role =
-- replica skips these triggers exactly as it skipped the key's. A drill's twin of rain_obs
-- (LIKE: never the key) stays unchecked: the triggers act on the public schema's rows only.
-- river_obs and reservoir_obs keep their declared keys (no bulk path needs it yet).

ALTER TABLE rain_obs DROP CONSTRAINT rain_obs_stcd_fkey;

CREATE FUNCTION rain_obs_station_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    IF TG_TABLE_SCHEMA <> 'public' THEN  -- a drill's twin: it never had the key
        RETURN NULL;
    END IF;
    PERFORM FROM public.station s
    WHERE s.stcd IN (SELECT DISTINCT n.stcd FROM new_rows n)
    FOR KEY SHARE OF s;
    SELECT n.stcd INTO missing
    FROM (SELECT DISTINCT stcd FROM new_rows) n
    WHERE NOT EXISTS (SELECT FROM public.station s WHERE s.stcd = n.stcd)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "rain_obs" violates foreign key constraint'
            ' "rain_obs_stcd_fkey"'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'rain_obs_stcd_fkey',
                  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA,
                  DETAIL = format('Key (stcd)=(%s) is not present in table "station".', missing);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER rain_obs_station_insert AFTER INSERT ON rain_obs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rain_obs_station_check();
CREATE TRIGGER rain_obs_station_update AFTER UPDATE ON rain_obs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rain_obs_station_check();

CREATE FUNCTION station_rain_obs_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM public.rain_obs r USING old_rows o WHERE r.stcd = o.stcd;
    RETURN NULL;
END;
$$;
CREATE TRIGGER station_rain_obs_delete AFTER DELETE ON station
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION station_rain_obs_delete();

CREATE FUNCTION station_rain_obs_rekey() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone text;
BEGIN
    SELECT o.stcd INTO gone
    FROM old_rows o
    WHERE NOT EXISTS (SELECT FROM public.station s WHERE s.stcd = o.stcd)
      AND EXISTS (SELECT FROM public.rain_obs r WHERE r.stcd = o.stcd)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'update or delete on table "station" violates foreign key constraint'
            ' "rain_obs_stcd_fkey" on table "rain_obs"'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'rain_obs_stcd_fkey',
                  TABLE = 'rain_obs', SCHEMA = 'public',
                  DETAIL = format('Key (stcd)=(%s) is still referenced from table "rain_obs".',
                                  gone);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER station_rain_obs_rekey AFTER UPDATE ON station
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION station_rain_obs_rekey();

CREATE FUNCTION station_rain_obs_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM public.rain_obs) THEN
        RAISE EXCEPTION 'cannot truncate table "station": table "rain_obs" references it'
            USING ERRCODE = 'feature_not_supported', CONSTRAINT = 'rain_obs_stcd_fkey',
                  HINT = 'Delete the stations (their rain rows go with them) or empty rain_obs'
                         ' first.';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER station_rain_obs_truncate BEFORE TRUNCATE ON station
    FOR EACH STATEMENT EXECUTE FUNCTION station_rain_obs_truncate();
