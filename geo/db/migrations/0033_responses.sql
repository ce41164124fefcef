-- depends: 0032_areas
-- Emergency responses (应急响应, issue 16): a county's response under one of its plans (预案,
-- geo/plans), its level Ⅰ–Ⅳ (1 = Ⅰ highest; never a warning colour or grade, DOMAIN.md), the
-- proposals the plans' conditions make, the tasks each level starts and an append-only
-- timeline that is also the audit log. Written by geo/responses.
--
-- response.status: proposed (a start proposal waits for a commander) → active → ended, or
-- proposed → dismissed. response_proposal.status: pending → accepted | dismissed | superseded
-- (a higher level came while it waited). response_task.status: open → acknowledged → done, or
-- cancelled (its level was lowered or the response ended); overdue is computed (past due_at
-- and not done), overdue_at records when the periodic check first flagged it (one event).
--
-- Task notifications are SMS rows of the delivery outbox (channel 'sms', delivered by the
-- dispatcher): outbox rows now belong to a warning version or to a response task.

CREATE TABLE response (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id       text NOT NULL CHECK (length(plan_id) > 0),
    plan_version  text NOT NULL CHECK (length(plan_version) > 0),
    plan_title_zh text NOT NULL,
    plan_title_en text NOT NULL,
    county_code   text NOT NULL REFERENCES admin_unit (code),
    status        text NOT NULL DEFAULT 'proposed'
                  CHECK (status IN ('proposed', 'active', 'ended', 'dismissed')),
    level         smallint CHECK (level BETWEEN 1 AND 4),  -- 1 = Ⅰ … 4 = Ⅳ; NULL until started
    started_at    timestamptz,
    started_by    text,
    ended_at      timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (status NOT IN ('active', 'ended') OR (level IS NOT NULL AND started_at IS NOT NULL)),
    CHECK ((status IN ('ended', 'dismissed')) = (ended_at IS NOT NULL))
);
-- one open response per county and plan
CREATE UNIQUE INDEX response_open_idx ON response (county_code, plan_id)
    WHERE status IN ('proposed', 'active');
CREATE INDEX response_county_idx ON response (county_code, created_at DESC);
COMMENT ON TABLE response IS 'Emergency responses (应急响应) of a county under one plan';

CREATE TABLE response_proposal (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    response_id bigint NOT NULL REFERENCES response (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('start', 'raise')),
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    at          timestamptz NOT NULL,
    condition   text NOT NULL,       -- the plan's condition that held
    variables   jsonb NOT NULL,      -- the county variables it read (non-zero ones)
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'dismissed', 'superseded')),
    decided_by  text,
    decided_at  timestamptz,
    reason      text,
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
-- no duplicate proposals: one pending per response
CREATE UNIQUE INDEX response_proposal_pending_idx ON response_proposal (response_id)
    WHERE status = 'pending';

CREATE TABLE response_task (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    response_id   bigint NOT NULL REFERENCES response (id) ON DELETE CASCADE,
    level         smallint NOT NULL CHECK (level BETWEEN 1 AND 4),  -- the level that started it
    seq           integer NOT NULL,                                 -- its place in the plan
    who           text NOT NULL,            -- the plan's assignee: county.chief, township.leader …
    office_code   text REFERENCES admin_unit (code),  -- the county or township it is for
    text_zh       text NOT NULL CHECK (length(text_zh) > 0),
    text_en       text NOT NULL,
    person_id     text REFERENCES person (id) ON DELETE SET NULL,
    person_name   text,
    phone         text,
    assigned_how  text NOT NULL CHECK (assigned_how IN ('on_duty', 'on_duty_other_post',
                      'responsible', 'manager', 'team_leader', 'unassigned')),
    due_at        timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'acknowledged', 'done', 'cancelled')),
    created_at    timestamptz NOT NULL,
    acked_at      timestamptz,
    acked_by      text,
    done_at       timestamptz,
    done_by       text,
    note          text CHECK (length(note) <= 2000),
    overdue_at    timestamptz,              -- first flagged overdue (the event went out once)
    UNIQUE (response_id, level, seq, office_code),
    CHECK ((status = 'done') = (done_at IS NOT NULL))
);
CREATE INDEX response_task_due_idx ON response_task (due_at) WHERE status IN ('open', 'acknowledged');

-- The timeline and audit log: every proposal, action and task change; append-only.
CREATE TABLE response_event (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    response_id bigint NOT NULL REFERENCES response (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('proposed', 'proposal_superseded',
                    'proposal_dismissed', 'started', 'raised', 'lowered', 'ended', 'dismissed',
                    'task_created', 'task_acknowledged', 'task_done', 'task_overdue',
                    'task_cancelled', 'task_notified')),
    actor       text NOT NULL CHECK (length(actor) > 0),  -- a user name, 'plans' or 'system'
    level_from  smallint CHECK (level_from BETWEEN 1 AND 4),
    level_to    smallint CHECK (level_to BETWEEN 1 AND 4),
    task_id     bigint REFERENCES response_task (id) ON DELETE CASCADE,
    proposal_id bigint REFERENCES response_proposal (id) ON DELETE CASCADE,
    reason      text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX response_event_response_idx ON response_event (response_id, id);

CREATE FUNCTION response_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'response_event is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER response_event_guard BEFORE UPDATE OR DELETE ON response_event
    FOR EACH ROW EXECUTE FUNCTION response_event_append_only();

-- A live event (kind 'response') for every timeline row, with the county for area filtering.
CREATE FUNCTION response_event_live() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r response%ROWTYPE;
BEGIN
    SELECT * INTO r FROM response WHERE id = NEW.response_id;
    PERFORM riskmap_event('response', jsonb_build_object(
        'response_id', NEW.response_id,
        'event_id', NEW.id,
        'change', NEW.kind,
        'plan_id', r.plan_id,
        'county_code', r.county_code,
        'counties', jsonb_build_array(r.county_code),
        'status', r.status,
        'level', r.level,
        'level_from', NEW.level_from,
        'level_to', NEW.level_to,
        'task_id', NEW.task_id,
        'proposal_id', NEW.proposal_id,
        'actor', NEW.actor,
        'at', NEW.at));
    RETURN NULL;
END;
$$;
CREATE TRIGGER response_event_announce AFTER INSERT ON response_event
    FOR EACH ROW EXECUTE FUNCTION response_event_live();

-- Outbox rows for response tasks: no warning version, a task instead.
ALTER TABLE outbox ALTER COLUMN warning_id DROP NOT NULL, ALTER COLUMN version DROP NOT NULL,
    ADD COLUMN response_task_id bigint REFERENCES response_task (id) ON DELETE CASCADE,
    ADD CONSTRAINT outbox_owner CHECK (
        (warning_id IS NOT NULL AND version IS NOT NULL AND response_task_id IS NULL)
        OR (warning_id IS NULL AND version IS NULL AND response_task_id IS NOT NULL));
CREATE INDEX outbox_response_task_idx ON outbox (response_task_id) WHERE response_task_id IS NOT NULL;

-- Villages under real warnings in force at a time, as the public had them then: each warning's
-- latest version published by that time, unless it was the all-clear. The plans' variables and
-- the townships a response's tasks go to read it (a replay sees each hour as it was).
CREATE FUNCTION warned_villages_at(p_at timestamptz)
RETURNS TABLE (village_code text, hazard text, colour text, action text, warning_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT vc, w.hazard, p.colour, p.action, w.id
    FROM warning w
    JOIN LATERAL (
        SELECT v.colour, v.action, v.msg_type, v.expires, v.village_codes FROM warning_version v
        WHERE v.warning_id = w.id AND v.state = 'published' AND v.cap_sent <= p_at
        ORDER BY v.version DESC LIMIT 1
    ) p ON true
    CROSS JOIN LATERAL unnest(p.village_codes) AS vc
    WHERE w.cap_status = 'Actual' AND w.published_version IS NOT NULL
      AND p.msg_type <> 'Cancel' AND p_at < p.expires;
$$;
