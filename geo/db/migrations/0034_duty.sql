-- depends: 0032_areas
-- Hand-over notes between duty shifts (交接班记录), issue 16 part 3.
--
-- At each shift change of a duty office (the county bureau or a township's emergency office,
-- duty_shift.org_code) the outgoing chief (值班长) writes what happened and what stays open for
-- the incoming one. A note is a record the bureau may have to show after an incident: rows are
-- append-only (no UPDATE, DELETE or TRUNCATE); a correction is a new note naming the one it
-- corrects (`corrects`), and readers show both. Like warning_audit, the notes keep plain codes
-- and names rather than foreign keys to person, admin_unit or app_user: history must outlive a
-- reloaded roster or a renamed user (a cascading SET NULL or rename would be refused anyway).

CREATE TABLE duty_handover (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_code        text NOT NULL CHECK (org_code ~ '^[1-9]\d{5}(\d{3})?$'),  -- the duty office
    shift_change    timestamptz NOT NULL,                                  -- 交接班时间
    from_person_id  text,                                                  -- 交班人 (person.id)
    to_person_id    text,                                                  -- 接班人
    from_name       text NOT NULL CHECK (length(from_name) BETWEEN 1 AND 100),
    to_name         text NOT NULL CHECK (length(to_name) BETWEEN 1 AND 100),
    text            text NOT NULL CHECK (length(text) BETWEEN 1 AND 4000),
    -- 待办事项: what the incoming shift must follow up, as a JSON array of strings
    open_items      jsonb NOT NULL DEFAULT '[]'::jsonb
                    CHECK (jsonb_typeof(open_items) = 'array' AND jsonb_array_length(open_items) <= 50),
    corrects        bigint REFERENCES duty_handover (id),
    author          text NOT NULL CHECK (length(author) > 0),            -- the signed-in user
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (corrects IS NULL OR corrects < id)
);
CREATE INDEX duty_handover_when_idx ON duty_handover (shift_change, org_code);
CREATE INDEX duty_handover_org_idx ON duty_handover (org_code, shift_change DESC);
COMMENT ON TABLE duty_handover IS
    'Append-only hand-over notes between duty shifts (交接班记录); corrections are new notes';

CREATE FUNCTION duty_handover_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'duty_handover is append-only (% refused): write a correcting note', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER duty_handover_no_change BEFORE UPDATE OR DELETE ON duty_handover
    FOR EACH ROW EXECUTE FUNCTION duty_handover_append_only();
CREATE TRIGGER duty_handover_no_truncate BEFORE TRUNCATE ON duty_handover
    FOR EACH STATEMENT EXECUTE FUNCTION duty_handover_append_only();
