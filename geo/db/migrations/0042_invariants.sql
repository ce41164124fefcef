-- depends: 0041_warning_changes
-- Invariants the code relies on, held by the database (issue 17, "prove 5"): until now the
-- lifecycle, the responses and the drills kept them by the way they are written, and a path
-- added later (or a hand-made UPDATE) could break them without a sound. Each refusal names its
-- rule (CONSTRAINT = the trigger's name for the trigger-held ones). The whole list, with how
-- each is enforced and the statement that tries to break it, is the table of
-- tests/reliability/test_invariants.py; a constraint added without a row there fails it.
--
-- Trigger functions address the tables of the schema their row lives in (TG_TABLE_SCHEMA): a
-- drill's twins (geo/drills/twin.py) copy these triggers and must check the drill's rows.
-- Replica mode (the demo's reset) skips the triggers, as it skips the existing guards.

-- 1. A warning's version chain ---------------------------------------------------------------
-- Versions are numbered 1, 2, … without gaps (the store gives max + 1 and versions are never
-- deleted); version 1 is the CAP Alert and every later one an Update or a Cancel; nothing
-- follows a published Cancel (the warning has ended).
CREATE FUNCTION warning_version_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ok boolean;
BEGIN
    IF NEW.version > 1 THEN
        EXECUTE format('SELECT EXISTS (SELECT FROM %I.warning_version'
                       ' WHERE warning_id = $1 AND version = $2)', TG_TABLE_SCHEMA)
            INTO ok USING NEW.warning_id, NEW.version - 1;
        IF NOT ok THEN
            RAISE EXCEPTION 'warning % version %: version % is missing (versions are numbered'
                ' 1, 2, … without gaps)', NEW.warning_id, NEW.version, NEW.version - 1
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_NAME,
                      TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
        END IF;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT FROM %I.warning_version WHERE warning_id = $1'
                   ' AND version < $2 AND state = ''published'' AND msg_type = ''Cancel'')',
                   TG_TABLE_SCHEMA)
        INTO ok USING NEW.warning_id, NEW.version;
    IF ok THEN
        RAISE EXCEPTION 'warning % has ended (a Cancel was published): no version % after it',
            NEW.warning_id, NEW.version
            USING ERRCODE = 'check_violation', CONSTRAINT = TG_NAME,
                  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER warning_version_chain BEFORE INSERT ON warning_version
    FOR EACH ROW EXECUTE FUNCTION warning_version_chain();

-- Published versions are immutable history (0016): rows published before this migration are
-- not checked again (NOT VALID), every row written from now on is.
ALTER TABLE warning_version
    ADD CONSTRAINT warning_version_first_is_alert CHECK ((version = 1) = (msg_type = 'Alert'))
    NOT VALID;
-- CAP: a message never takes effect before it is sent (publish_version.sql moves effective up)
ALTER TABLE warning_version
    ADD CONSTRAINT warning_version_sent_by_effective CHECK (cap_sent <= effective) NOT VALID;

-- At most one draft per warning: a candidate's version 1, or an issued warning's update waiting
-- for review; every lifecycle path rewrites it in place or discards it before another.
CREATE UNIQUE INDEX warning_version_one_draft_idx ON warning_version (warning_id)
    WHERE state = 'draft';

-- The warning's pointers, checked at COMMIT (a warning row is written before its version 1, and
-- a step moves versions and pointers in several statements): published_version is its latest
-- published version (NULL while none is); current_version is its draft when it has one, else one
-- of its versions. A warning row with no version at all (written by hand, not by the lifecycle)
-- only has the first rule checked.
CREATE FUNCTION warning_pointers_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wid bigint;
    cur integer;
    pub integer;
    n bigint;
    latest integer;
    draft integer;
    has_current boolean;
BEGIN
    IF TG_TABLE_NAME = 'warning' THEN
        wid := NEW.id;
    ELSE
        wid := NEW.warning_id;
    END IF;
    EXECUTE format('SELECT current_version, published_version FROM %I.warning WHERE id = $1',
                   TG_TABLE_SCHEMA)
        INTO cur, pub USING wid;
    IF cur IS NULL THEN
        RETURN NULL;  -- deleted later in the same transaction
    END IF;
    EXECUTE format('SELECT count(*), max(version) FILTER (WHERE state = ''published''),'
                   ' max(version) FILTER (WHERE state = ''draft''), bool_or(version = $2)'
                   ' FROM %I.warning_version WHERE warning_id = $1', TG_TABLE_SCHEMA)
        INTO n, latest, draft, has_current USING wid, cur;
    IF pub IS DISTINCT FROM latest THEN
        RAISE EXCEPTION 'warning %: published_version is %, its latest published version is %',
            wid, coalesce(pub::text, 'NULL'), coalesce(latest::text, 'none')
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_NAME,
                  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
    END IF;
    IF n > 0 AND draft IS NOT NULL AND cur <> draft THEN
        RAISE EXCEPTION 'warning %: current_version is %, but its draft is version %',
            wid, cur, draft
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_NAME,
                  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
    END IF;
    IF n > 0 AND NOT has_current THEN
        RAISE EXCEPTION 'warning %: current_version % is not one of its versions', wid, cur
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_NAME,
                  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER warning_pointers
    AFTER INSERT OR UPDATE OF current_version, published_version ON warning
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION warning_pointers_check();
CREATE CONSTRAINT TRIGGER warning_version_pointers
    AFTER INSERT OR UPDATE OF state ON warning_version
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION warning_pointers_check();

-- An audit row names a version of its own warning (or none). History: NOT VALID as above.
CREATE INDEX warning_audit_version_idx ON warning_audit (warning_id, version);
ALTER TABLE warning_audit ADD CONSTRAINT warning_audit_version_fkey
    FOREIGN KEY (warning_id, version) REFERENCES warning_version (warning_id, version) NOT VALID;

-- 2. States only move forward -----------------------------------------------------------------
-- TG_ARGV lists the allowed changes as 'from>to'; staying in a state is always allowed.
CREATE FUNCTION status_transition_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT (OLD.status || '>' || NEW.status = ANY (TG_ARGV)) THEN
        RAISE EXCEPTION '% %: status cannot change from % to %', TG_TABLE_NAME, OLD.id,
            OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = TG_NAME, COLUMN = 'status',
                  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
    END IF;
    RETURN NEW;
END;
$$;
-- candidate → issued | rejected | expired; issued → cancelled | expired; the rest are ends
CREATE TRIGGER warning_status_transition BEFORE UPDATE OF status ON warning
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION status_transition_guard('candidate>issued', 'candidate>rejected',
                                             'candidate>expired', 'issued>cancelled',
                                             'issued>expired');
-- proposed → active | dismissed; active → ended
CREATE TRIGGER response_status_transition BEFORE UPDATE OF status ON response
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION status_transition_guard('proposed>active', 'proposed>dismissed',
                                             'active>ended');
-- pending → accepted | dismissed | superseded
CREATE TRIGGER response_proposal_status_transition BEFORE UPDATE OF status ON response_proposal
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION status_transition_guard('pending>accepted', 'pending>dismissed',
                                             'pending>superseded');
-- open → acknowledged → done; open → done; open | acknowledged → cancelled
CREATE TRIGGER response_task_status_transition BEFORE UPDATE OF status ON response_task
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION status_transition_guard('open>acknowledged', 'open>done',
                                             'acknowledged>done', 'open>cancelled',
                                             'acknowledged>cancelled');
-- running → finished | failed
CREATE TRIGGER drill_status_transition BEFORE UPDATE OF status ON drill
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION status_transition_guard('running>finished', 'running>failed');

-- 3. Response tasks ---------------------------------------------------------------------------
-- Every task is for an office (a county or a township): insert_task.sql's ON CONFLICT on
-- (response_id, level, seq, office_code) only makes a repeat a no-op when the code is not NULL.
ALTER TABLE response_task ALTER COLUMN office_code SET NOT NULL;
-- an acknowledged or done task records when (done implies acknowledged); who with when
ALTER TABLE response_task
    ADD CONSTRAINT response_task_ack_recorded CHECK (
        CASE status WHEN 'open' THEN acked_at IS NULL
                    WHEN 'cancelled' THEN true
                    ELSE acked_at IS NOT NULL END),
    ADD CONSTRAINT response_task_acked_by CHECK ((acked_at IS NULL) = (acked_by IS NULL)),
    ADD CONSTRAINT response_task_done_by CHECK ((done_at IS NULL) = (done_by IS NULL));

-- 4. Hand-over notes: a correction corrects a note of the same duty office -------------------
CREATE FUNCTION duty_handover_correction_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    office text;
BEGIN
    EXECUTE format('SELECT org_code FROM %I.duty_handover WHERE id = $1', TG_TABLE_SCHEMA)
        INTO office USING NEW.corrects;
    IF office IS DISTINCT FROM NEW.org_code AND office IS NOT NULL THEN
        RAISE EXCEPTION 'hand-over note % of office % cannot correct note % of office %',
            NEW.id, NEW.org_code, NEW.corrects, office
            USING ERRCODE = 'check_violation', CONSTRAINT = TG_NAME, COLUMN = 'corrects',
                  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
    END IF;
    RETURN NEW;  -- a note that does not exist: the foreign key says so
END;
$$;
CREATE TRIGGER duty_handover_correction BEFORE INSERT ON duty_handover
    FOR EACH ROW WHEN (NEW.corrects IS NOT NULL)
    EXECUTE FUNCTION duty_handover_correction_check();

-- 5. Drills end after they start (both stamped with now(), in order) --------------------------
ALTER TABLE drill
    ADD CONSTRAINT drill_finished_after_start CHECK (finished_at >= started_at);

-- 6. Coordinates within WGS 84 --------------------------------------------------------------
-- The SRID says 4326 but nothing said the numbers are longitudes and latitudes: an outline in
-- metres (a projected file loaded as 4326) fails every ::geography cast (the SMS and site
-- cascades of a publication, impact and resource distances) and the tiles' ST_Transform. Tables
-- that the feeds write (station, hazard_point, cap_area, grids, …) quarantine bad coordinates in
-- the feed; earthquake and hotspot had this check already.
ALTER TABLE admin_unit ADD CONSTRAINT admin_unit_geom_wgs84 CHECK (
    ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
ALTER TABLE facility ADD CONSTRAINT facility_geom_wgs84 CHECK (
    ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
ALTER TABLE warehouse ADD CONSTRAINT warehouse_geom_wgs84 CHECK (
    ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
ALTER TABLE shelter ADD CONSTRAINT shelter_geom_wgs84 CHECK (
    ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
ALTER TABLE rescue_team ADD CONSTRAINT rescue_team_geom_wgs84 CHECK (
    ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
ALTER TABLE vehicle ADD CONSTRAINT vehicle_geom_wgs84 CHECK (
    ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
ALTER TABLE broadcast_terminal ADD CONSTRAINT broadcast_terminal_geom_wgs84 CHECK (
    ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
ALTER TABLE hazardous_site ADD CONSTRAINT hazardous_site_geom_wgs84 CHECK (
    ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
ALTER TABLE sensor ADD CONSTRAINT sensor_geom_wgs84 CHECK (
    ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
ALTER TABLE river ADD CONSTRAINT river_geom_wgs84 CHECK (
    ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
ALTER TABLE dike ADD CONSTRAINT dike_geom_wgs84 CHECK (
    ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
-- a field report's point (the API checks the numbers; this is what the rules and maps read)
ALTER TABLE field_report ADD CONSTRAINT field_report_geom_wgs84 CHECK (
    ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
