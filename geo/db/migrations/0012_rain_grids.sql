-- depends: 0010_village_rain
-- Gridded rainfall (observed analyses 'qpe' and forecasts 'qpf'): grids stay files in the data
-- store and are catalogued here; per-village values go to village_rain. Accumulations over a
-- window are read with village_rain_window() and village_rain_forecast().

CREATE TABLE grid_definition (
    id          text PRIMARY KEY,                    -- hash of CRS WKT + transform + shape
    crs         text NOT NULL CHECK (length(crs) > 0),  -- WKT
    epsg        integer CHECK (epsg > 0),
    transform   double precision[] NOT NULL          -- affine a, b, c, d, e, f (north-up: b = d = 0)
                CHECK (array_length(transform, 1) = 6 AND transform[1] > 0 AND transform[5] < 0
                       AND transform[2] = 0 AND transform[4] = 0),
    width       integer NOT NULL CHECK (width > 0),
    height      integer NOT NULL CHECK (height > 0),
    footprint   geometry(Polygon, 4326) NOT NULL CHECK (ST_IsValid(footprint)),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX grid_definition_footprint_idx ON grid_definition USING gist (footprint);

CREATE TABLE grid_file (
    id               text PRIMARY KEY,               -- <sha256 prefix>-<step>
    path             text NOT NULL,                  -- copy in the data store
    product          text NOT NULL CHECK (product IN ('qpe', 'qpf')),
    variable         text NOT NULL,                  -- NetCDF variable or 'band N'
    step             integer NOT NULL CHECK (step >= 0),  -- time step / lead / band in the file
    units            text NOT NULL,                  -- as written in the file
    to_mm            double precision NOT NULL CHECK (to_mm > 0),  -- factor applied to get mm
    valid_start      timestamptz NOT NULL,
    valid_end        timestamptz NOT NULL,
    issued_at        timestamptz NOT NULL,           -- forecasts: run time; analyses: valid_end
    lead_hours       double precision CHECK (lead_hours > 0),
    grid_definition  text NOT NULL REFERENCES grid_definition (id),
    sha256           char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    valid_cells      integer NOT NULL CHECK (valid_cells > 0),
    invalid_cells    integer NOT NULL CHECK (invalid_cells >= 0),  -- nodata, fill and sentinels
    max_mm           double precision NOT NULL CHECK (max_mm >= 0 AND max_mm < 2000),
    ingest_id        bigint REFERENCES ingest_log (id) ON DELETE SET NULL,
    UNIQUE (sha256, variable, step),
    CHECK (valid_end > valid_start),
    CHECK ((product = 'qpf') = (lead_hours IS NOT NULL)),
    CHECK (product = 'qpf' OR issued_at = valid_end),
    CHECK (product = 'qpe' OR issued_at <= valid_start)
);
CREATE INDEX grid_file_time_idx ON grid_file (product, valid_end);
CREATE INDEX grid_file_definition_idx ON grid_file (grid_definition);

-- Rain of each village over [p_from, p_to] from one product: only periods lying wholly inside
-- count. Nothing is counted twice: where periods of different lengths overlap (hourly and daily
-- analyses; a forecast's 1 h leads then 3 h leads do not overlap and all count) the finer ones
-- win and an overlapped coarser period is left out whole; rolling periods of one length (3 h
-- sums every hour) are thinned to the chain ending at the latest one. The latest issue of a
-- period is used. max_mm is the sum of the periods' maxima (an upper bound of the cell-wise
-- maximum); coverage is the share of village area × window time covered by valid grid cells.
CREATE FUNCTION village_rain_sum(p_product text, p_from timestamptz, p_to timestamptz,
                                 p_issued timestamptz DEFAULT NULL)
RETURNS TABLE (village_code text, rain_mm double precision, max_mm double precision,
               coverage double precision, hours double precision)
LANGUAGE sql STABLE AS $$
    WITH latest AS (
        SELECT DISTINCT ON (r.village_code, r.valid_start, r.valid_end)
               r.village_code, r.valid_start, r.valid_end, r.mean_mm, r.max_mm, r.coverage,
               extract(epoch FROM r.valid_end - r.valid_start) AS dur_s
        FROM village_rain r
        WHERE r.product = p_product AND r.valid_start >= p_from AND r.valid_end <= p_to
          AND (p_issued IS NULL OR r.issued_at = p_issued)
        ORDER BY r.village_code, r.valid_start, r.valid_end, r.issued_at DESC
    ), anchored AS (
        SELECT l.*, max(l.valid_end) OVER (PARTITION BY l.village_code, l.dur_s) AS anchor
        FROM latest l
    ), chained AS (
        SELECT a.* FROM anchored a
        WHERE mod(extract(epoch FROM a.anchor - a.valid_end)::numeric, a.dur_s::numeric) = 0
    ), kept AS (
        SELECT c.* FROM chained c
        WHERE NOT EXISTS (
            SELECT 1 FROM chained f
            WHERE f.village_code = c.village_code AND f.dur_s < c.dur_s
              AND f.valid_start < c.valid_end AND f.valid_end > c.valid_start)
    )
    SELECT k.village_code, sum(k.mean_mm), sum(k.max_mm),
           least(1.0, sum(k.coverage * k.dur_s) / extract(epoch FROM p_to - p_from)),
           sum(k.dur_s) / 3600.0
    FROM kept k
    GROUP BY k.village_code
$$;

-- Observed rain of each village over the last `hours` hours up to `at`, i.e. periods within
-- (at - hours, at]: gridded analyses (qpe) first; villages no analysis covers fall back to
-- rain-gauge rows (product 'gauge').
CREATE FUNCTION village_rain_window(at timestamptz, hours integer)
RETURNS TABLE (village_code text, rain_mm double precision, max_mm double precision,
               coverage double precision, source text)
LANGUAGE sql STABLE AS $$
    WITH qpe AS (
        SELECT s.* FROM village_rain_sum(
            'qpe', village_rain_window.at - make_interval(hours => village_rain_window.hours),
            village_rain_window.at) s
        WHERE s.coverage > 0
    ), gauge AS (
        SELECT g.* FROM village_rain_sum(
            'gauge', village_rain_window.at - make_interval(hours => village_rain_window.hours),
            village_rain_window.at) g
        WHERE NOT EXISTS (SELECT 1 FROM qpe q WHERE q.village_code = g.village_code)
    )
    SELECT q.village_code, q.rain_mm, q.max_mm, q.coverage, 'qpe' FROM qpe q
    UNION ALL
    SELECT g.village_code, g.rain_mm, g.max_mm, g.coverage, 'gauge' FROM gauge g
$$;

-- Forecast rain of each village over [from_ts, to_ts] from the run issued at `issued` (NULL:
-- the latest run with any period in that range).
CREATE FUNCTION village_rain_forecast(issued timestamptz, from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (village_code text, rain_mm double precision, max_mm double precision,
               coverage double precision, source text)
LANGUAGE sql STABLE AS $$
    WITH run AS (
        SELECT coalesce(issued, (SELECT max(r.issued_at) FROM village_rain r
                                 WHERE r.product = 'qpf' AND r.valid_start >= from_ts
                                   AND r.valid_end <= to_ts)) AS issued_at
    )
    SELECT s.village_code, s.rain_mm, s.max_mm, s.coverage, 'qpf'
    FROM run, village_rain_sum('qpf', from_ts, to_ts, run.issued_at) s
    WHERE run.issued_at IS NOT NULL
$$;
