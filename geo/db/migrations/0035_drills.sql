-- depends: 0034_duty
-- Drills (演练, issue 16 part 4). A drill replays a scenario as an exercise in a schema of its
-- own, drill_<id>: empty twins of every table the replay, the rules, the lifecycle, delivery and
-- responses write (riskmap.geo.drills.twin makes them), read through search_path
-- "drill_<id>, public", so reference data (villages, thresholds, stations, people on duty,
-- terminals' keys) comes from public and nothing the drill writes lands there. This table is the
-- register the drill views start from; the drill's warnings, messages and tasks stay in its schema.

CREATE TABLE drill (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schema_name     text UNIQUE CHECK (schema_name ~ '^drill_[0-9]+$'),  -- set once it exists
    scenario        text NOT NULL CHECK (length(scenario) > 0),          -- 'storm' or a folder
    county_code     text NOT NULL REFERENCES admin_unit (code),
    targets         text NOT NULL CHECK (targets IN ('reference', 'real')),
    receiver_url    text,            -- where broadcasts went with targets 'reference'
    scenario_start  timestamptz NOT NULL,
    scenario_end    timestamptz NOT NULL CHECK (scenario_end > scenario_start),
    status          text NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'finished', 'failed')),
    started_by      text NOT NULL CHECK (length(started_by) > 0),
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    error           text,
    CHECK ((status = 'running') = (finished_at IS NULL)),
    CHECK (targets = 'real' OR receiver_url IS NOT NULL)
);
CREATE INDEX drill_started_idx ON drill (started_at DESC);
COMMENT ON TABLE drill IS 'Drills (演练): each replayed as an exercise in its own schema drill_<id>';

-- On a drill's twin of `warning`: whatever code writes a warning inside a drill (the rules, a
-- forecaster, a future path), it is an exercise (CAP status Exercise) and names its drill; the
-- drill id comes from the schema the row is written to.
CREATE FUNCTION drill_warning_exercise() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.cap_status := 'Exercise';
    NEW.drill_id := substring(TG_TABLE_SCHEMA FROM '^drill_([0-9]+)$')::bigint;
    RETURN NEW;
END;
$$;

-- On a drill's twin of `outbox`: every message says it is a drill before anything else, whoever
-- wrote it. Warning texts already do (geo/warnings/texts.py); a response task's SMS and the
-- hazardous-site contacts' SMS (whose mark came last, after "停产撤人") get 【演练】 right after
-- the signature, and their parts are dropped so the SMS adapter splits the new text again.
CREATE FUNCTION drill_outbox_mark() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    body text := NEW.payload ->> 'text';
BEGIN
    IF body IS NULL THEN
        RETURN NEW;
    END IF;
    IF NEW.channel = 'sms' AND body !~ '^(【[^】]*】)?【演练】' THEN
        body := regexp_replace(regexp_replace(body, '【演练】$', ''), '^(【[^】]*】)?', '\1【演练】');
        NEW.payload := (NEW.payload - 'parts') || jsonb_build_object('text', body);
    ELSIF NEW.channel IN ('broadcast', 'mqtt') AND body !~ '^演练' THEN
        NEW.payload := NEW.payload || jsonb_build_object('text', '演练，演练。' || body);
    END IF;
    RETURN NEW;
END;
$$;
