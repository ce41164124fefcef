-- depends: 0009_ingest_core
-- Rainfall per village and period: from gridded analyses (qpe), forecasts (qpf) or rain gauges
-- (gauge, where grids do not cover a village). What the rules read; grids stay files.

CREATE TABLE village_rain (
    village_code  text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    product       text NOT NULL CHECK (product IN ('qpe', 'qpf', 'gauge')),
    valid_start   timestamptz NOT NULL,
    valid_end     timestamptz NOT NULL,
    issued_at     timestamptz NOT NULL,          -- forecasts: run time; observations: valid_end
    mean_mm       double precision NOT NULL CHECK (mean_mm >= 0 AND mean_mm < 2000),
    max_mm        double precision NOT NULL CHECK (max_mm >= 0 AND max_mm < 2000),
    coverage      double precision NOT NULL CHECK (coverage >= 0 AND coverage <= 1),
    source_ref    text,                          -- grid file id or station codes
    ingest_id     bigint REFERENCES ingest_log (id) ON DELETE SET NULL,
    PRIMARY KEY (village_code, product, valid_start, valid_end, issued_at),
    CHECK (valid_end > valid_start),
    CHECK (max_mm + 1e-9 >= mean_mm)
);
CREATE INDEX village_rain_time_idx ON village_rain (product, valid_end);
