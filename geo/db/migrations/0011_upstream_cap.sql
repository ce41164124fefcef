-- depends: 0010_village_rain
-- Upstream CAP 1.1 / 1.2 alerts from other agencies (e.g. the meteorological bureau's rainstorm
-- signals), loaded by ingest/feeds/cap.py, and the entries of CAP Atom index feeds still to fetch.
-- Ids are UUIDv5 of (sender, identifier) so child rows can be written in the same set-based load
-- and a re-delivered alert maps onto the same rows.

CREATE TABLE cap_alert (
    id              uuid PRIMARY KEY,
    identifier      text NOT NULL CHECK (identifier <> ''),
    sender          text NOT NULL CHECK (sender <> ''),
    sent            timestamptz NOT NULL,
    status          text NOT NULL CHECK (status IN ('Actual', 'Exercise', 'System', 'Test', 'Draft')),
    msg_type        text NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel', 'Ack', 'Error')),
    source          text,                          -- CAP <source>, not the file it came in
    scope           text NOT NULL CHECK (scope IN ('Public', 'Restricted', 'Private')),
    restriction     text,
    addresses       text,
    code            text[] NOT NULL DEFAULT '{}',
    note            text,
    references_raw  text,
    incidents       text,
    cap_version     text NOT NULL CHECK (cap_version IN ('1.1', '1.2')),
    schema_valid    boolean NOT NULL,
    schema_errors   text[] NOT NULL DEFAULT '{}',  -- "line 17: Element ... is not expected"
    warnings        text[] NOT NULL DEFAULT '{}',  -- non-fatal content issues (dropped polygon, ...)
    raw_xml         text NOT NULL,
    state           text NOT NULL DEFAULT 'active'
                    CHECK (state IN ('active', 'updated', 'cancelled', 'expired')),
    superseded_by   uuid REFERENCES cap_alert (id) ON DELETE SET NULL,
    ingest_id       bigint REFERENCES ingest_log (id) ON DELETE SET NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sender, identifier),
    CHECK (schema_valid = (cardinality(schema_errors) = 0)),
    -- CAP: an Update or Cancel names what it replaces
    CHECK (msg_type NOT IN ('Update', 'Cancel') OR btrim(coalesce(references_raw, '')) <> ''),
    CHECK (superseded_by IS NULL OR state IN ('updated', 'cancelled')),
    CHECK (superseded_by IS DISTINCT FROM id)
);
CREATE INDEX cap_alert_state_idx ON cap_alert (state, sent DESC);
CREATE INDEX cap_alert_ingest_idx ON cap_alert (ingest_id);

-- One row per "sender,identifier,sent" triple of <references>; kept even when the referenced
-- alert was never seen, so an original arriving after its Update/Cancel is marked at once.
CREATE TABLE cap_reference (
    alert_id        uuid NOT NULL REFERENCES cap_alert (id) ON DELETE CASCADE,
    ordinal         smallint NOT NULL CHECK (ordinal >= 1),
    ref_sender      text NOT NULL CHECK (ref_sender <> ''),
    ref_identifier  text NOT NULL CHECK (ref_identifier <> ''),
    ref_sent        timestamptz,
    PRIMARY KEY (alert_id, ref_sender, ref_identifier)
);
CREATE INDEX cap_reference_target_idx ON cap_reference (ref_sender, ref_identifier);

CREATE TABLE cap_info (
    alert_id       uuid NOT NULL REFERENCES cap_alert (id) ON DELETE CASCADE,
    ordinal        smallint NOT NULL CHECK (ordinal >= 1),
    language       text NOT NULL DEFAULT 'en-US',
    category       text[] NOT NULL CHECK (
                       cardinality(category) >= 1
                       AND category <@ ARRAY['Geo', 'Met', 'Safety', 'Security', 'Rescue', 'Fire',
                                             'Health', 'Env', 'Transport', 'Infra', 'CBRNE',
                                             'Other']),
    event          text NOT NULL CHECK (event <> ''),
    response_type  text[] NOT NULL DEFAULT '{}' CHECK (
                       response_type <@ ARRAY['Shelter', 'Evacuate', 'Prepare', 'Execute', 'Avoid',
                                              'Monitor', 'Assess', 'AllClear', 'None']),
    urgency        text NOT NULL
                   CHECK (urgency IN ('Immediate', 'Expected', 'Future', 'Past', 'Unknown')),
    severity       text NOT NULL
                   CHECK (severity IN ('Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown')),
    certainty      text NOT NULL
                   CHECK (certainty IN ('Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown')),
    audience       text,
    event_code     jsonb NOT NULL DEFAULT '{}'::jsonb,  -- {valueName: [value, ...]}
    effective      timestamptz,
    onset          timestamptz,
    expires        timestamptz,
    sender_name    text,
    headline       text,
    description    text,
    instruction    text,
    web            text,
    contact        text,
    parameters     jsonb NOT NULL DEFAULT '{}'::jsonb,  -- {valueName: [value, ...]}
    resources      jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{resourceDesc, mimeType, uri, ...}]
    PRIMARY KEY (alert_id, ordinal)
);
CREATE INDEX cap_info_expires_idx ON cap_info (expires);

CREATE TABLE cap_area (
    alert_id      uuid NOT NULL,
    info_ordinal  smallint NOT NULL,
    ordinal       smallint NOT NULL CHECK (ordinal >= 1),
    area_desc     text NOT NULL CHECK (area_desc <> ''),
    -- union of the area's polygons and circles (geodesic buffers); NULL when only geocodes
    geom          geometry(MultiPolygon, 4326) CHECK (geom IS NULL OR ST_IsValid(geom)),
    circles       jsonb NOT NULL DEFAULT '[]'::jsonb,   -- [{lat, lon, radius_km}] as sent
    geocodes      jsonb NOT NULL DEFAULT '{}'::jsonb,   -- {valueName: [value, ...]}
    altitude      double precision,                     -- feet above WGS 84 mean sea level (CAP)
    ceiling       double precision,
    PRIMARY KEY (alert_id, info_ordinal, ordinal),
    FOREIGN KEY (alert_id, info_ordinal) REFERENCES cap_info (alert_id, ordinal) ON DELETE CASCADE,
    CHECK (ceiling IS NULL OR (altitude IS NOT NULL AND ceiling >= altitude))
);
CREATE INDEX cap_area_geom_idx ON cap_area USING gist (geom);

-- Entries of Atom index feeds. 'loaded': the entry embedded a complete alert (alert_id);
-- 'fetch': only a link (or an incomplete fragment) - the poller fetches `link` and sets
-- fetched_at; 'unusable': neither (reason says why). Each revision (updated) is its own row.
CREATE TABLE cap_feed_entry (
    feed_id      text NOT NULL,
    entry_id     text NOT NULL CHECK (entry_id <> ''),
    updated      timestamptz NOT NULL,
    published    timestamptz,
    title        text,
    link         text,
    link_type    text,
    disposition  text NOT NULL CHECK (disposition IN ('loaded', 'fetch', 'unusable')),
    reason       text,
    cap_fields   jsonb NOT NULL DEFAULT '{}'::jsonb,    -- cap: extension elements {name: [text]}
    alert_id     uuid REFERENCES cap_alert (id) ON DELETE SET NULL,
    fetched_at   timestamptz,
    ingest_id    bigint REFERENCES ingest_log (id) ON DELETE SET NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (feed_id, entry_id, updated),
    CHECK (disposition <> 'fetch' OR link IS NOT NULL),
    CHECK (disposition = 'loaded' OR alert_id IS NULL OR fetched_at IS NOT NULL)
);
CREATE INDEX cap_feed_entry_todo_idx ON cap_feed_entry (feed_id, entry_id, updated DESC)
    WHERE disposition = 'fetch' AND fetched_at IS NULL;
