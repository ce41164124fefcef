-- depends: 0008_duties_and_roster
-- Provenance of every ingested file, quarantined records, and service heartbeats.

CREATE TABLE ingest_log (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL,
    source           text NOT NULL,             -- file path or URL as received
    sha256           char(64) NOT NULL,
    bytes            bigint NOT NULL CHECK (bytes >= 0),
    received_at      timestamptz NOT NULL DEFAULT now(),
    valid_from       timestamptz,
    valid_to         timestamptz,
    status           text NOT NULL CHECK (status IN ('loaded', 'partial', 'rejected')),
    rows_loaded      integer NOT NULL DEFAULT 0 CHECK (rows_loaded >= 0),
    rows_duplicate   integer NOT NULL DEFAULT 0 CHECK (rows_duplicate >= 0),
    rows_quarantined integer NOT NULL DEFAULT 0 CHECK (rows_quarantined >= 0),
    tables           jsonb NOT NULL DEFAULT '{}'::jsonb,  -- rows loaded per table
    message          text,
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
);
-- the same content of the same kind is loaded once (a rejected attempt may be retried)
CREATE UNIQUE INDEX ingest_log_content_idx ON ingest_log (kind, sha256) WHERE status <> 'rejected';
CREATE INDEX ingest_log_received_idx ON ingest_log (received_at DESC);

CREATE TABLE quarantine (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ingest_id   bigint NOT NULL REFERENCES ingest_log (id) ON DELETE CASCADE,
    source      text NOT NULL,
    record      text NOT NULL,                 -- "line 12", "feature 3", "entry 2"
    field       text,
    reason      text NOT NULL,
    raw         text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_ingest_idx ON quarantine (ingest_id);

CREATE TABLE service_heartbeat (
    name       text PRIMARY KEY,               -- 'ingest', 'dispatcher', ...
    last_seen  timestamptz NOT NULL DEFAULT now(),
    detail     jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- Stations seen only in foreign feeds (e.g. USGS) have no Chinese admin code.
ALTER TABLE station ALTER COLUMN addvcd DROP NOT NULL;
