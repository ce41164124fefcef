-- depends: 0037_fk_indexes 0038_response_history
-- Reloading a dataset (`riskmap data demo` again, a yearly boundary or code update) merges the
-- new rows into the old ones instead of deleting the dataset and inserting it afresh
-- (geo/demo/merge.py): rows whose key survives stay (with everything that refers to them —
-- village rain, observations, field reports), changed rows are updated, new rows inserted and
-- only rows that left the dataset are deleted. Each reload is written down here, with what it
-- did to data that was loaded or reported: nothing disappears without a row saying why.

CREATE TABLE dataset_reload (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset_id  text NOT NULL,                  -- no foreign key: the record outlives the data
    at          timestamptz NOT NULL DEFAULT now(),
    -- per table: {"admin_unit": {"added": 3, "changed": 12, "removed": 1}, ...}
    tables      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(tables) = 'object'),
    -- the rain recomputed for units whose outline changed: {"grid_files": 9, "villages": 12, ...}
    rain        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(rain) = 'object')
);
CREATE INDEX dataset_reload_dataset_idx ON dataset_reload (dataset_id, at DESC);
COMMENT ON TABLE dataset_reload IS 'Each reload of a dataset: rows added, changed and removed';

-- One line per consequence for loaded or reported data: rows dropped with a unit, station or
-- sensor that left the dataset ('dropped'), references cleared ('unlinked'), field reports moved
-- to the village now holding their point ('moved'), village rain recomputed from the kept grid
-- files for a changed outline ('recomputed') or kept as it was because a file was missing
-- ('kept').
CREATE TABLE dataset_reload_change (
    reload_id   bigint NOT NULL REFERENCES dataset_reload (id) ON DELETE CASCADE,
    n           integer NOT NULL CHECK (n >= 1),  -- 1, 2, … within the reload
    change      text NOT NULL CHECK (change IN ('removed', 'dropped', 'unlinked', 'moved',
                                                'recomputed', 'kept')),
    table_name  text NOT NULL,                  -- the table whose rows it concerns
    key         text NOT NULL,                  -- the unit, station, report, … concerned
    rows        integer NOT NULL DEFAULT 0 CHECK (rows >= 0),
    reason      text NOT NULL CHECK (length(reason) > 0),
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,  -- e.g. {"ingest_ids": [..]}, {"to": code}
    PRIMARY KEY (reload_id, n)
);
CREATE INDEX dataset_reload_change_key_idx ON dataset_reload_change (table_name, key);
COMMENT ON TABLE dataset_reload_change IS
    'What a dataset reload did to loaded or reported data, one line per unit and table';
