-- depends: 0014_hazard_fire_quake
-- Warnings issued by this system, each a CAP 1.2 alert at heart (GB/T 35965.1 identifiers), their
-- versions (Alert → Update … → Cancel, each referencing every earlier published version), an
-- append-only audit log of every state change, and the transactional outbox the dispatcher
-- delivers from. Written by geo/warnings/lifecycle.py.

CREATE TABLE warning (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id           text NOT NULL CHECK (length(rule_id) > 0),
    rule_version      text NOT NULL CHECK (length(rule_version) > 0),
    hazard            text NOT NULL CHECK (length(hazard) > 0),
    colour            text NOT NULL CHECK (colour IN ('blue', 'yellow', 'orange', 'red')),
    -- the warning level (四级 lowest … 一级 highest), kept apart from the signal colour
    level             text GENERATED ALWAYS AS (
                          CASE colour WHEN 'blue' THEN '四级' WHEN 'yellow' THEN '三级'
                                      WHEN 'orange' THEN '二级' WHEN 'red' THEN '一级' END
                      ) STORED,
    action            text CHECK (action IN ('prepare_evacuation', 'evacuate_now')),
    status            text NOT NULL DEFAULT 'candidate'
                      CHECK (status IN ('candidate', 'issued', 'rejected', 'cancelled', 'expired')),
    cap_status        text NOT NULL DEFAULT 'Actual' CHECK (cap_status IN ('Actual', 'Exercise', 'Test')),
    review            text NOT NULL CHECK (review IN ('auto', 'forecaster')),
    current_version   integer NOT NULL DEFAULT 1 CHECK (current_version >= 1),
    -- the latest version the public has received (NULL while a candidate)
    published_version integer CHECK (published_version BETWEEN 1 AND current_version),
    first_fired_at    timestamptz NOT NULL,
    last_fired_at     timestamptz NOT NULL CHECK (last_fired_at >= first_fired_at),
    valid_from        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL CHECK (expires_at > valid_from),
    hold_hours        double precision NOT NULL CHECK (hold_hours > 0 AND hold_hours <= 720),
    village_codes     text[] NOT NULL CHECK (cardinality(village_codes) > 0),
    geom              geometry(MultiPolygon, 4326) NOT NULL
                      CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    ended_at          timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((ended_at IS NULL) = (status IN ('candidate', 'issued'))),
    CHECK (status NOT IN ('candidate', 'rejected') OR published_version IS NULL),
    CHECK (status NOT IN ('issued', 'cancelled') OR published_version IS NOT NULL)
);
CREATE INDEX warning_geom_idx ON warning USING gist (geom);
CREATE INDEX warning_open_idx ON warning (rule_id, hazard) WHERE status IN ('candidate', 'issued');
CREATE INDEX warning_status_idx ON warning (status, updated_at DESC);
CREATE INDEX warning_villages_idx ON warning USING gin (village_codes);
COMMENT ON TABLE warning IS 'Warnings raised by rules: one row per warning, its current state';

CREATE TABLE warning_version (
    warning_id      bigint NOT NULL REFERENCES warning (id),
    version         integer NOT NULL CHECK (version >= 1),
    -- a draft awaits a forecaster (or was a candidate); published versions are immutable
    state           text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published', 'discarded')),
    cap_identifier  text UNIQUE CHECK (length(cap_identifier) = 31
                                       AND cap_identifier ~ '^\d{14}_\d{14}_\d$'),
    cap_sender      text CHECK (cap_sender !~ '[\s,]'),
    cap_sent        timestamptz,
    msg_type        text NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel')),
    references_text text,
    colour          text NOT NULL CHECK (colour IN ('blue', 'yellow', 'orange', 'red')),
    action          text CHECK (action IN ('prepare_evacuation', 'evacuate_now')),
    village_codes   text[] NOT NULL CHECK (cardinality(village_codes) > 0),
    event_zh        text NOT NULL CHECK (length(event_zh) > 0),
    event_en        text NOT NULL,
    headline_zh     text NOT NULL CHECK (length(headline_zh) > 0),
    headline_en     text NOT NULL,
    description_zh  text NOT NULL,
    description_en  text NOT NULL,
    instruction_zh  text NOT NULL,
    instruction_en  text NOT NULL,
    category        text NOT NULL CHECK (category IN ('Geo', 'Met', 'Safety', 'Security', 'Rescue',
                        'Fire', 'Health', 'Env', 'Transport', 'Infra', 'CBRNE', 'Other')),
    urgency         text NOT NULL CHECK (urgency IN ('Immediate', 'Expected', 'Future', 'Past',
                        'Unknown')),
    severity        text NOT NULL CHECK (severity IN ('Extreme', 'Severe', 'Moderate', 'Minor',
                        'Unknown')),
    certainty       text NOT NULL CHECK (certainty IN ('Observed', 'Likely', 'Possible', 'Unlikely',
                        'Unknown')),
    response_type   text NOT NULL CHECK (response_type IN ('Shelter', 'Evacuate', 'Prepare',
                        'Execute', 'Avoid', 'Monitor', 'Assess', 'AllClear', 'None')),
    effective       timestamptz NOT NULL,
    expires         timestamptz NOT NULL CHECK (expires > effective),
    evidence        jsonb NOT NULL,  -- {"rule_id", "rule_version", "at", "villages": {code: {...}}}
    created_by      text NOT NULL CHECK (length(created_by) > 0),
    reason          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz,
    PRIMARY KEY (warning_id, version),
    CHECK ((state = 'published') = (cap_identifier IS NOT NULL AND cap_sender IS NOT NULL
                                    AND cap_sent IS NOT NULL AND published_at IS NOT NULL)),
    -- CAP: an Update or Cancel names every earlier version it follows; an Alert names none
    CHECK (state <> 'published' OR (msg_type = 'Alert') = (references_text IS NULL)),
    CHECK (msg_type <> 'Cancel' OR response_type = 'AllClear')
);
COMMENT ON TABLE warning_version IS 'Each CAP message of a warning (Alert, Update, Cancel)';

CREATE FUNCTION warning_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'warning_version rows are history and cannot be deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.state <> 'draft' THEN
        RAISE EXCEPTION 'warning % version % is % and cannot change', OLD.warning_id,
            OLD.version, OLD.state USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER warning_version_immutable BEFORE UPDATE OR DELETE ON warning_version
    FOR EACH ROW EXECUTE FUNCTION warning_version_guard();

CREATE TABLE warning_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    warning_id  bigint NOT NULL REFERENCES warning (id),
    version     integer,
    action      text NOT NULL CHECK (action IN ('propose', 'issue', 'update', 'extend', 'escalate',
                    'deescalate', 'reject', 'cancel', 'expire', 'edit')),
    actor       text NOT NULL CHECK (length(actor) > 0),  -- a user name, 'rules' or 'system'
    at          timestamptz NOT NULL,
    reason      text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,  -- rule id and version, the numbers, the change
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX warning_audit_warning_idx ON warning_audit (warning_id, id);
COMMENT ON TABLE warning_audit IS 'Append-only log of every warning state change: who, when, why';

CREATE FUNCTION warning_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'warning_audit is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER warning_audit_no_change BEFORE UPDATE OR DELETE ON warning_audit
    FOR EACH ROW EXECUTE FUNCTION warning_audit_append_only();
CREATE TRIGGER warning_audit_no_truncate BEFORE TRUNCATE ON warning_audit
    FOR EACH STATEMENT EXECUTE FUNCTION warning_audit_append_only();

CREATE TABLE outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    warning_id       bigint NOT NULL,
    version          integer NOT NULL,
    channel          text NOT NULL CHECK (channel IN ('broadcast', 'sms', 'mqtt', 'cap-feed')),
    target           text NOT NULL CHECK (length(target) > 0),  -- terminal id, phone or topic
    payload          jsonb NOT NULL,
    idempotency_key  text NOT NULL UNIQUE,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'acked', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (warning_id, version) REFERENCES warning_version (warning_id, version)
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_warning_idx ON outbox (warning_id, version);
COMMENT ON TABLE outbox IS 'Messages to deliver, written in the transaction that publishes a version';
