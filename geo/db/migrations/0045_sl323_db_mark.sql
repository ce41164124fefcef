-- depends: 0044_cap_signatures
-- The SL 323 database source (ingest/sl323db, issue 18): how far each remote table has been
-- read. The mark is written in the transaction that stores the rows it covers, so a runner that
-- restarts (or whose remote or database went away) reads on from it: no gap, and the overlap
-- it reads again is stored once (the observation tables' keys).
CREATE TABLE sl323_db_mark (
    source       text NOT NULL,       -- the source's name in sources.yaml
    sl323_table  text NOT NULL CHECK (sl323_table IN ('ST_PPTN_R', 'ST_RIVER_R', 'ST_RSVR_R')),
    tm           timestamp NOT NULL,  -- the latest TM read, as the remote holds it (SL 323:
                                      -- Beijing time without a zone), never after the poll's now
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, sl323_table)
);

-- A bad row inside the overlap is read at every poll and quarantined once: the source looks up
-- what it already quarantined by source and record.
CREATE INDEX quarantine_source_record_idx ON quarantine (source, record);
