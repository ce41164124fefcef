-- depends: 0002_admin_units
-- People and the duties they hold. Phone numbers are what a duty officer dials in an emergency.

CREATE TABLE person (
    id          text PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) > 0),
    phone       text NOT NULL CHECK (phone ~ '^(1[3-9]\d{9}|0\d{2,3}-\d{7,8})$'),
    org         text,
    title       text,
    admin_code  text REFERENCES admin_unit (code) ON DELETE CASCADE,  -- where they serve
    dataset_id  text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE
);
CREATE INDEX person_admin_idx ON person (admin_code);
COMMENT ON TABLE person IS 'Responsible persons, officers, monitors, experts and team members';
