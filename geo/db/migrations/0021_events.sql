-- depends: 0018_users
-- Live events for wall maps (GET /api/events, Server-Sent Events): an append-only event_log whose
-- id is the SSE id (clients reconnect with Last-Event-ID and get what they missed), filled by
-- triggers on warning state changes and delivery outcomes and by producers (ingest, field
-- reports) through riskmap_event(); every row is announced on channel riskmap_events at commit.
-- Rows never change; the API prunes those older than a week (api/events.py).
--
-- Notification payload: the event's payload object with one reserved key added,
-- "_event": {"id", "kind", "at", "public"}. Payloads too big for NOTIFY (8000 bytes) are sent as
-- {"_event": {..., "truncated": true}} and listeners read the row.

CREATE TABLE event_log (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind     text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,39}$'),  -- warning, observation, ...
    -- whether clients without a token may see it (only events about published warnings)
    public   boolean NOT NULL DEFAULT false,
    payload  jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(payload) = 'object')
);
CREATE INDEX event_log_at_idx ON event_log (at);
COMMENT ON TABLE event_log IS 'Append-only log of live events; id is the Server-Sent Events id';

CREATE FUNCTION event_log_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    meta jsonb := jsonb_build_object('id', NEW.id, 'kind', NEW.kind, 'at', NEW.at,
                                     'public', NEW.public);
    body text := (NEW.payload || jsonb_build_object('_event', meta))::text;
BEGIN
    IF octet_length(body) > 7900 THEN
        body := jsonb_build_object('_event', meta || '{"truncated": true}'::jsonb)::text;
    END IF;
    PERFORM pg_notify('riskmap_events', body);
    RETURN NULL;
END;
$$;
CREATE TRIGGER event_log_announce AFTER INSERT ON event_log
    FOR EACH ROW EXECUTE FUNCTION event_log_notify();

CREATE FUNCTION event_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'event_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER event_log_no_update BEFORE UPDATE ON event_log
    FOR EACH ROW EXECUTE FUNCTION event_log_append_only();

-- What producers call: SELECT riskmap_event('field_report', '{"report_id": 7}'::jsonb);
CREATE FUNCTION riskmap_event(p_kind text, p_payload jsonb, p_public boolean DEFAULT false)
RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO event_log (kind, payload, public) VALUES (p_kind, p_payload, p_public)
    RETURNING id;
$$;

-- One event per warning state change (each audit row), built at COMMIT (deferred) so it shows
-- the warning as the transaction left it. Public: a published warning's publication, extension,
-- cancellation or expiry, described by its published version (a pending draft stays internal).
CREATE FUNCTION event_log_warning() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    w   warning%ROWTYPE;
    pub warning_version%ROWTYPE;
    is_public boolean;
    colour text;
    action text;
BEGIN
    SELECT * INTO w FROM warning WHERE id = NEW.warning_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    is_public := w.published_version IS NOT NULL
        AND (NEW.action IN ('issue', 'cancel', 'expire')
             OR (NEW.action = 'extend' AND w.status = 'issued'));
    colour := w.colour;
    action := w.action;
    IF is_public THEN
        SELECT * INTO pub FROM warning_version
        WHERE warning_id = w.id AND version = w.published_version;
        colour := pub.colour;
        action := pub.action;
    END IF;
    INSERT INTO event_log (kind, public, payload) VALUES ('warning', is_public, jsonb_build_object(
        'warning_id', w.id,
        'change', NEW.action,
        'version', NEW.version,
        'status', w.status,
        'colour', colour,
        'level', CASE colour WHEN 'blue' THEN '四级' WHEN 'yellow' THEN '三级'
                             WHEN 'orange' THEN '二级' WHEN 'red' THEN '一级' END,
        'action', action,
        'hazard', w.hazard,
        'cap_status', w.cap_status,
        'published_version', w.published_version,
        'villages', cardinality(w.village_codes),
        'expires_at', w.expires_at,
        'at', NEW.at));
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER warning_audit_event AFTER INSERT ON warning_audit
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION event_log_warning();

-- Delivery outcomes: the dispatcher marks outbox rows sent, acked or failed.
CREATE FUNCTION event_log_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_log (kind, payload) VALUES ('delivery', jsonb_build_object(
        'outbox_id', NEW.id,
        'warning_id', NEW.warning_id,
        'version', NEW.version,
        'channel', NEW.channel,
        -- phone numbers stay in the outbox; terminals and topics are not personal
        'target', CASE WHEN NEW.channel = 'sms' THEN NULL ELSE NEW.target END,
        'status', NEW.status,
        'attempts', NEW.attempts,
        'error', NEW.last_error));
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_delivery_event AFTER UPDATE OF status ON outbox
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('sent', 'acked', 'failed'))
    EXECUTE FUNCTION event_log_delivery();
