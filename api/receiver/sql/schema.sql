-- The reference receiver's journal: one row per message it took (played or stale); repeats of
-- a message only count up `repeats`. `key` is what the sender signed as the message's identity
-- (the idempotency key of a JSON message, "ebd:" + EBDID of an EBM).
CREATE TABLE IF NOT EXISTS journal (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    key             TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL,   -- riskmap's key, given back in the ack
    broadcast_id    INTEGER NOT NULL,
    warning_id      INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    msg_type        TEXT NOT NULL,   -- Alert | Update | Cancel
    village_code    TEXT NOT NULL,
    terminal_id     TEXT NOT NULL,
    protocol        TEXT NOT NULL CHECK (protocol IN ('http-json', 'ebm-xml', 'mqtt')),
    key_id          TEXT NOT NULL,   -- the key that signed it (and signs the ack)
    text            TEXT NOT NULL,
    ack_url         TEXT,
    outcome         TEXT NOT NULL CHECK (outcome IN ('played', 'stale')),
    received_at     TEXT NOT NULL,   -- ISO 8601 UTC
    played_at       TEXT,
    repeats         INTEGER NOT NULL DEFAULT 0,
    acked_at        TEXT,
    ack_error       TEXT
);
CREATE INDEX IF NOT EXISTS journal_warning_idx ON journal (warning_id, terminal_id, version);
