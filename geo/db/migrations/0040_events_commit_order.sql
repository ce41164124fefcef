-- depends: 0039_dataset_reload
-- Event ids in commit order (issue 17). The identity id of event_log is taken when the row is
-- inserted, so a transaction that inserted id 10 and committed after one holding id 11 reached
-- live clients, but a wall map that had seen 11 and reconnected with Last-Event-ID 11 never got
-- 10. Now the id clients see (pos) is assigned at COMMIT, by a deferred trigger holding a
-- transaction lock until the commit is visible: a transaction committing later always gets a
-- larger pos, so "everything after my last id" is exactly what a client missed. Only the commit
-- step of event-producing transactions is serialised (NOTIFY already serialises those commits),
-- never their work. The notification carries pos as its "_event" id; the row id stays internal.

ALTER TABLE event_log ADD COLUMN pos bigint;
CREATE SEQUENCE event_log_pos_seq OWNED BY event_log.pos;

-- existing rows keep the id clients know them by; new ones continue after every id given out
ALTER TABLE event_log DISABLE TRIGGER event_log_no_update;
UPDATE event_log SET pos = id;
ALTER TABLE event_log ENABLE TRIGGER event_log_no_update;
-- in a DO block: a bare SELECT's result is printed by yoyo, at every `riskmap db migrate`
DO $$
BEGIN
    PERFORM setval('event_log_pos_seq',
                   greatest((SELECT last_value FROM event_log_id_seq), coalesce(max(id), 0), 1))
    FROM event_log;
END
$$;
CREATE UNIQUE INDEX event_log_pos_idx ON event_log (pos);

-- Rows never change, except that pos is set once, at commit.
CREATE OR REPLACE FUNCTION event_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.pos IS NULL AND NEW.pos IS NOT NULL
       AND (NEW.id, NEW.at, NEW.kind, NEW.public, NEW.payload)
           IS NOT DISTINCT FROM (OLD.id, OLD.at, OLD.kind, OLD.public, OLD.payload) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'event_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- At commit: take the event lock (held until the commit is visible), number the row, announce
-- it with that number.
CREATE FUNCTION event_log_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p    bigint;
    meta jsonb;
    body text;
BEGIN
    -- the two-key form: apart from every one-key lock (the event adopter's among them)
    PERFORM pg_advisory_xact_lock(hashtext('riskmap'), hashtext('event_log commit order'));
    p := nextval('event_log_pos_seq');
    UPDATE event_log SET pos = p WHERE id = NEW.id;
    meta := jsonb_build_object('id', p, 'kind', NEW.kind, 'at', NEW.at, 'public', NEW.public);
    body := (NEW.payload || jsonb_build_object('_event', meta))::text;
    IF octet_length(body) > 7900 THEN
        body := jsonb_build_object('_event', meta || '{"truncated": true}'::jsonb)::text;
    END IF;
    PERFORM pg_notify('riskmap_events', body);
    RETURN NULL;
END;
$$;
DROP TRIGGER event_log_announce ON event_log;
DROP FUNCTION event_log_notify();
CREATE CONSTRAINT TRIGGER event_log_commit_order AFTER INSERT ON event_log
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION event_log_commit_order();

-- What producers call returns the row id (the client-facing pos is known only at commit).
COMMENT ON COLUMN event_log.pos IS 'The Server-Sent Events id: assigned at commit, in commit order';
