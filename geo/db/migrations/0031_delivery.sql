-- depends: 0030_river_tiles_notify
-- Delivery (issue 14): the dispatcher's bookkeeping around the transactional outbox.
--
-- outbox.status: pending (due at next_attempt_at) → sent (the receiver or gateway accepted it)
-- → acked (the terminal confirmed play-out, or the SMS receipt said delivered) | failed (the
-- receipt said undeliverable); pending → dead (retries exhausted or refused for good; an operator
-- alert is raised) | superseded (a newer version of the same warning for the same target came
-- before this one was delivered: it must not play after the newer one) | expired (its warning
-- version ended before it could be delivered: an old alert is not news).
-- A dispatcher claims rows with FOR UPDATE SKIP LOCKED inside the transaction that records
-- their outcome, so a dispatcher killed mid-delivery leaves them pending (delivered again:
-- at least once; receivers drop repeats by idempotency key).

ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'sent', 'acked', 'failed', 'dead', 'superseded', 'expired'));
ALTER TABLE outbox
    ADD COLUMN sent_at      timestamptz,
    ADD COLUMN acked_at     timestamptz,
    ADD COLUMN provider_ref text,   -- the SMS gateway's message id(s), space-separated
    ADD COLUMN ack          jsonb;  -- what the terminal or the receipt said
-- the newest-version-first ordering per target, and receipts by gateway id
CREATE INDEX outbox_target_idx ON outbox (warning_id, channel, target, version);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE status = 'pending';

CREATE TABLE delivery_attempt (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id   bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    attempt     integer NOT NULL CHECK (attempt >= 1),
    at          timestamptz NOT NULL,
    channel     text NOT NULL,
    target      text NOT NULL,
    dispatcher  text NOT NULL,     -- host:pid of the dispatcher that tried
    outcome     text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
    status_code integer,           -- HTTP status, MQTT reason code
    latency_ms  double precision NOT NULL CHECK (latency_ms >= 0),
    error       text
);
CREATE INDEX delivery_attempt_outbox_idx ON delivery_attempt (outbox_id, attempt);
COMMENT ON TABLE delivery_attempt IS 'Every delivery attempt: when, where, outcome, latency, error';

-- SMS delivery receipts, one per part of a split message.
CREATE TABLE sms_receipt (
    provider_ref text PRIMARY KEY,
    outbox_id    bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    part         integer NOT NULL CHECK (part >= 1),
    parts        integer NOT NULL CHECK (parts >= part),
    status       text,            -- the gateway's word: DELIVRD, UNDELIV, EXPIRED, ...
    delivered    boolean,
    at           timestamptz,
    received_at  timestamptz
);
CREATE INDEX sms_receipt_outbox_idx ON sms_receipt (outbox_id);

-- Per-terminal signing secrets (HMAC-SHA256), encrypted with the installation's key (Fernet);
-- several versions during a rotation: the newest signs, unretired ones still verify.
CREATE TABLE terminal_key (
    terminal_id text NOT NULL REFERENCES broadcast_terminal (id) ON DELETE CASCADE,
    version     integer NOT NULL CHECK (version >= 1),
    secret      bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz,
    PRIMARY KEY (terminal_id, version)
);

-- Wake the dispatchers (LISTEN riskmap_outbox) when rows are queued; once per statement.
CREATE FUNCTION outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('riskmap_outbox', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_wake AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_wake();

-- Delivery events: also 'dead', which raises an operator alert beside the delivery event.
CREATE OR REPLACE FUNCTION event_log_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    body jsonb := jsonb_build_object(
        'outbox_id', NEW.id,
        'warning_id', NEW.warning_id,
        'version', NEW.version,
        'channel', NEW.channel,
        -- phone numbers stay in the outbox; terminals and topics are not personal
        'target', CASE WHEN NEW.channel = 'sms' THEN NULL ELSE NEW.target END,
        'village_code', NEW.payload ->> 'village_code',
        'status', NEW.status,
        'attempts', NEW.attempts,
        'error', NEW.last_error);
BEGIN
    INSERT INTO event_log (kind, payload) VALUES ('delivery', body);
    IF NEW.status = 'dead' THEN
        INSERT INTO event_log (kind, payload) VALUES ('operator_alert',
            body || jsonb_build_object('alert', 'delivery_dead',
                'message', '消息投递失败，已停止重试 delivery abandoned after retries'));
    END IF;
    RETURN NULL;
END;
$$;
DROP TRIGGER outbox_delivery_event ON outbox;
CREATE TRIGGER outbox_delivery_event AFTER UPDATE OF status ON outbox
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          AND NEW.status IN ('sent', 'acked', 'failed', 'dead'))
    EXECUTE FUNCTION event_log_delivery();
