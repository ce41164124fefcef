-- depends: 0018_users
-- Cheaper village rainfall from grids, same results.
--
-- 1. A grid period is stored as ONE row of village_rain_grid: mean, max and coverage as float8
--    arrays in the order of a village_set (the villages of a grid definition's zonal weights),
--    NaN where a village got no value. Writing 25,000 village rows with their key and foreign-key
--    checks cost ~400 ms; one array row costs a few ms. Per-village rows (rain gauges, and grid
--    periods seen twice, see 3.) stay rows, in village_rain_row (the former village_rain table).
-- 2. village_rain is now a view giving the same rows as the table did (row table UNION ALL the
--    unnested arrays), so every reader keeps working; INSERT and DELETE on it are routed to the
--    tables by INSTEAD OF triggers.
-- 3. One value per village and period key (product, valid_start, valid_end, issued_at), as the
--    table's primary key guaranteed: a key is either one village_rain_grid row (UNIQUE below) or
--    village_rain_row rows, never both. A second grid of a period already stored, or a row
--    written for a key held by a grid row, first turns the grid row into rows
--    (village_rain_explode), and the old per-village rule applies (a later grid replaces a
--    village's values unless it covers the village less).
-- 4. village_version: a token replaced by a statement trigger whenever villages change, instead
--    of an md5 over every village geometry per grid (~100 ms at 25,000 villages) to validate the
--    cached zonal weights.
-- 5. village_rain_sums_sql no longer calls village_rain_sums_exact once per irregular village
--    (an index lookup per village on the old table; through the view it would unnest every
--    array per village): the 0012 rules are applied to all irregular villages in one set-based
--    query. village_rain_windows/village_rain_sum get work_mem for their hash aggregates.

-- 4. -----------------------------------------------------------------------------------------
CREATE TABLE village_version (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    token       text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO village_version (token) VALUES (gen_random_uuid()::text);
COMMENT ON TABLE village_version IS
    'Token replaced whenever admin_unit codes, levels or geometries change (zonal weight cache key)';

CREATE FUNCTION village_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE village_version SET token = gen_random_uuid()::text, changed_at = now();
    RETURN NULL;
END
$$;
CREATE TRIGGER admin_unit_village_version
    AFTER INSERT OR UPDATE OF code, level, geom, parent_code OR DELETE OR TRUNCATE ON admin_unit
    FOR EACH STATEMENT EXECUTE FUNCTION village_version_bump();

-- 1. -----------------------------------------------------------------------------------------
ALTER TABLE village_rain RENAME TO village_rain_row;

CREATE TABLE village_set (
    id          text PRIMARY KEY,               -- <grid definition id>-<village_version token>
    codes       text[] NOT NULL CHECK (array_ndims(codes) = 1),  -- NULL: village deleted since
    created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE village_set ALTER COLUMN codes SET STORAGE EXTERNAL;  -- codes do not compress much

CREATE TABLE village_rain_grid (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product      text NOT NULL CHECK (product IN ('qpe', 'qpf')),
    valid_start  timestamptz NOT NULL,
    valid_end    timestamptz NOT NULL,
    issued_at    timestamptz NOT NULL,
    village_set  text NOT NULL REFERENCES village_set (id),
    mean_mm      double precision[] NOT NULL,   -- NaN: no value for that village
    max_mm       double precision[] NOT NULL,
    coverage     double precision[] NOT NULL,
    source_ref   text,                          -- grid file id
    ingest_id    bigint REFERENCES ingest_log (id) ON DELETE SET NULL,
    UNIQUE (product, valid_start, valid_end, issued_at),
    CHECK (valid_end > valid_start),
    CHECK (array_ndims(mean_mm) = 1 AND cardinality(max_mm) = cardinality(mean_mm)
           AND cardinality(coverage) = cardinality(mean_mm))
);
-- random floats do not compress: skip pglz on write and read
ALTER TABLE village_rain_grid ALTER COLUMN mean_mm SET STORAGE EXTERNAL;
ALTER TABLE village_rain_grid ALTER COLUMN max_mm SET STORAGE EXTERNAL;
ALTER TABLE village_rain_grid ALTER COLUMN coverage SET STORAGE EXTERNAL;
CREATE INDEX village_rain_grid_time_idx ON village_rain_grid (product, valid_end);
CREATE INDEX village_rain_grid_set_idx ON village_rain_grid (village_set, valid_end);

-- Where each village sits in each village order: one village's rain without unnesting every
-- array (village_rain_of below). Written once per village order, by trigger.
CREATE TABLE village_set_member (
    set_id  text NOT NULL REFERENCES village_set (id) ON DELETE CASCADE,
    code    text NOT NULL,
    pos     integer NOT NULL CHECK (pos > 0),
    PRIMARY KEY (code, set_id)
);
CREATE FUNCTION village_set_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO village_set_member (set_id, code, pos)
    SELECT NEW.id, x.code, x.pos FROM unnest(NEW.codes) WITH ORDINALITY AS x (code, pos)
    WHERE x.code IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER village_set_members AFTER INSERT ON village_set
    FOR EACH ROW EXECUTE FUNCTION village_set_members();

-- 2. -----------------------------------------------------------------------------------------
CREATE VIEW village_rain AS
SELECT r.village_code, r.product, r.valid_start, r.valid_end, r.issued_at, r.mean_mm, r.max_mm,
       r.coverage, r.source_ref, r.ingest_id
FROM village_rain_row r
UNION ALL
SELECT u.village_code, g.product, g.valid_start, g.valid_end, g.issued_at, u.mean_mm, u.max_mm,
       u.coverage, g.source_ref, g.ingest_id
FROM village_rain_grid g
JOIN village_set s ON s.id = g.village_set
CROSS JOIN LATERAL unnest(s.codes, g.mean_mm, g.max_mm, g.coverage)
    AS u (village_code, mean_mm, max_mm, coverage)
WHERE u.village_code IS NOT NULL AND u.mean_mm <> 'NaN'::float8;
COMMENT ON VIEW village_rain IS
    'Rainfall per village and period: village_rain_row plus the unnested village_rain_grid arrays';

-- One village's rows of the view with periods wholly inside [p_from, p_to], found by index (the
-- view unnests every array of the time range to find one village): for per-village readers.
CREATE FUNCTION village_rain_of(p_code text, p_from timestamptz DEFAULT '-infinity',
                                p_to timestamptz DEFAULT 'infinity')
RETURNS SETOF village_rain
LANGUAGE sql STABLE AS $$
    SELECT r.village_code, r.product, r.valid_start, r.valid_end, r.issued_at, r.mean_mm,
           r.max_mm, r.coverage, r.source_ref, r.ingest_id
    FROM village_rain_row r
    WHERE r.village_code = p_code AND r.valid_start >= p_from AND r.valid_end <= p_to
    UNION ALL
    SELECT m.code, g.product, g.valid_start, g.valid_end, g.issued_at, x.mean_mm, x.max_mm,
           x.coverage, g.source_ref, g.ingest_id
    FROM village_set_member m
    JOIN village_rain_grid g ON g.village_set = m.set_id
    CROSS JOIN LATERAL (SELECT g.mean_mm[m.pos] AS mean_mm, g.max_mm[m.pos] AS max_mm,
                               g.coverage[m.pos] AS coverage) x
    WHERE m.code = p_code AND g.valid_start >= p_from AND g.valid_end <= p_to
      AND x.mean_mm <> 'NaN'::float8
$$;

-- Turn the grid row holding a period key into village_rain_row rows (then delete it).
CREATE FUNCTION village_rain_explode(p_product text, p_valid_start timestamptz,
                                     p_valid_end timestamptz, p_issued_at timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer := 0;
    grid_id bigint;
BEGIN
    SELECT g.id INTO grid_id FROM village_rain_grid g
    WHERE g.product = p_product AND g.valid_start = p_valid_start AND g.valid_end = p_valid_end
      AND g.issued_at = p_issued_at
    FOR UPDATE;
    IF grid_id IS NULL THEN
        RETURN 0;
    END IF;
    INSERT INTO village_rain_row AS r (village_code, product, valid_start, valid_end, issued_at,
                                       mean_mm, max_mm, coverage, source_ref, ingest_id)
    SELECT u.village_code, g.product, g.valid_start, g.valid_end, g.issued_at, u.mean_mm,
           u.max_mm, u.coverage, g.source_ref, g.ingest_id
    FROM village_rain_grid g
    JOIN village_set s ON s.id = g.village_set
    CROSS JOIN LATERAL unnest(s.codes, g.mean_mm, g.max_mm, g.coverage)
        AS u (village_code, mean_mm, max_mm, coverage)
    WHERE g.id = grid_id AND u.village_code IS NOT NULL AND u.mean_mm <> 'NaN'::float8
    ON CONFLICT (village_code, product, valid_start, valid_end, issued_at) DO UPDATE
    SET mean_mm = EXCLUDED.mean_mm, max_mm = EXCLUDED.max_mm, coverage = EXCLUDED.coverage,
        source_ref = EXCLUDED.source_ref, ingest_id = EXCLUDED.ingest_id
    WHERE EXCLUDED.coverage >= r.coverage;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM village_rain_grid WHERE id = grid_id;
    RETURN n;
END
$$;

CREATE FUNCTION village_rain_view_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.product IN ('qpe', 'qpf') THEN
        PERFORM village_rain_explode(NEW.product, NEW.valid_start, NEW.valid_end, NEW.issued_at);
    END IF;
    INSERT INTO village_rain_row (village_code, product, valid_start, valid_end, issued_at,
                                  mean_mm, max_mm, coverage, source_ref, ingest_id)
    VALUES (NEW.village_code, NEW.product, NEW.valid_start, NEW.valid_end, NEW.issued_at,
            NEW.mean_mm, NEW.max_mm, NEW.coverage, NEW.source_ref, NEW.ingest_id)
    ON CONFLICT DO NOTHING;  -- an INSTEAD OF trigger cannot see the statement's ON CONFLICT
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER village_rain_insert INSTEAD OF INSERT ON village_rain
    FOR EACH ROW EXECUTE FUNCTION village_rain_view_insert();

CREATE FUNCTION village_rain_view_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.product IN ('qpe', 'qpf') THEN
        PERFORM village_rain_explode(OLD.product, OLD.valid_start, OLD.valid_end, OLD.issued_at);
    END IF;
    DELETE FROM village_rain_row
    WHERE village_code = OLD.village_code AND product = OLD.product
      AND valid_start = OLD.valid_start AND valid_end = OLD.valid_end
      AND issued_at = OLD.issued_at;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER village_rain_delete INSTEAD OF DELETE ON village_rain
    FOR EACH ROW EXECUTE FUNCTION village_rain_view_delete();

-- Deleted villages leave the grid arrays as they left the table (ON DELETE CASCADE before).
CREATE FUNCTION village_set_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE village_set s
    SET codes = (SELECT array_agg(CASE WHEN gone.code IS NULL THEN x.code END ORDER BY x.i)
                 FROM unnest(s.codes) WITH ORDINALITY AS x (code, i)
                 LEFT JOIN gone_units gone ON gone.code = x.code)
    WHERE s.codes && ARRAY(SELECT code FROM gone_units WHERE level = 'village');
    DELETE FROM village_set_member m WHERE m.code IN (SELECT code FROM gone_units);
    RETURN NULL;
END
$$;
CREATE TRIGGER admin_unit_forget_rain AFTER DELETE ON admin_unit
    REFERENCING OLD TABLE AS gone_units
    FOR EACH STATEMENT EXECUTE FUNCTION village_set_forget();

-- 5. -----------------------------------------------------------------------------------------
-- As in 0017 (same arguments, columns and results), the irregular villages now in one query.
CREATE OR REPLACE FUNCTION village_rain_sums_sql(p_product text, p_to timestamptz,
                                                 starts timestamptz[], labels integer[],
                                                 p_issued timestamptz)
RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    sums text := '';
    slots text := '';
    first timestamptz := (SELECT min(f) FROM unnest(starts) f);
    rows_sql text;
BEGIN
    FOR i IN 1 .. cardinality(starts) LOOP
        sums := sums || format(
            ', sum(d.mean_mm) FILTER (WHERE d.valid_start >= %1$L::timestamptz) AS rain_%2$s'
            ', sum(d.max_mm) FILTER (WHERE d.valid_start >= %1$L::timestamptz) AS peak_%2$s'
            ', sum(d.coverage * d.dur_s) FILTER (WHERE d.valid_start >= %1$L::timestamptz)'
            ' AS cov_%2$s'
            ', sum(d.dur_s) FILTER (WHERE d.valid_start >= %1$L::timestamptz) AS dur_%2$s',
            starts[i], i);
        slots := slots || format(
            '%s(%s, %L::timestamptz, g.rain_%s, g.peak_%4$s, g.cov_%4$s, g.dur_%4$s)',
            CASE WHEN i > 1 THEN ', ' ELSE '' END, coalesce(labels[i], 0), starts[i], i);
    END LOOP;
    -- the rows of the windows (periods wholly inside [first, p_to])
    rows_sql := format($r$
            FROM village_rain r
            WHERE r.product = %1$L AND r.valid_end <= %2$L::timestamptz
              AND r.valid_end > %3$L::timestamptz AND r.valid_start >= %3$L::timestamptz
              AND (%4$L::timestamptz IS NULL OR r.issued_at = %4$L::timestamptz)$r$,
        p_product, p_to, first, p_issued);
    RETURN format($q$
    WITH g AS MATERIALIZED (
        SELECT d.village_code,
               min(d.dur_us) = max(d.dur_us) AND min(d.phase_us) = max(d.phase_us)
               AND %6$s AS simple
               %7$s
        FROM (
            SELECT r.village_code COLLATE "C" AS village_code, r.valid_start, r.mean_mm,
                   r.max_mm, r.coverage, r.issued_at = r.valid_end AS observed,
                   date_part('epoch', r.valid_end - r.valid_start) AS dur_s,
                   (date_part('epoch', r.valid_end - r.valid_start) * 1e6)::bigint AS dur_us,
                   mod((date_part('epoch', %2$L::timestamptz - r.valid_end) * 1e6)::bigint,
                       (date_part('epoch', r.valid_end - r.valid_start) * 1e6)::bigint)
                       AS phase_us
            %10$s
            OFFSET 0  -- compute the row expressions once, not once per aggregate
        ) d
        GROUP BY d.village_code
    ), latest AS (  -- irregular villages: the 0012 rules (as village_rain_sums_exact), per window
        SELECT DISTINCT ON (n.village_code, w.f, n.valid_start, n.valid_end)
               n.village_code, w.f, w.label, n.valid_start, n.valid_end, n.mean_mm, n.max_mm,
               n.coverage, extract(epoch FROM n.valid_end - n.valid_start) AS dur_s
        FROM (
            SELECT r.village_code COLLATE "C" AS village_code, r.valid_start, r.valid_end,
                   r.issued_at, r.mean_mm, r.max_mm, r.coverage
            %10$s
        ) n
        JOIN unnest(%5$L::timestamptz[], %9$L::integer[]) AS w (f, label) ON n.valid_start >= w.f
        WHERE n.village_code IN (SELECT i.village_code FROM g i WHERE NOT i.simple)
        ORDER BY n.village_code, w.f, n.valid_start, n.valid_end, n.issued_at DESC
    ), anchored AS (
        SELECT l.*, max(l.valid_end) OVER (PARTITION BY l.village_code, l.f, l.dur_s) AS anchor
        FROM latest l
    ), chained AS (
        SELECT a.* FROM anchored a
        WHERE mod(extract(epoch FROM a.anchor - a.valid_end), a.dur_s) = 0
    ), kept AS (
        SELECT c.* FROM chained c
        WHERE NOT EXISTS (
            SELECT 1 FROM chained o
            WHERE o.village_code = c.village_code AND o.f = c.f AND o.dur_s < c.dur_s
              AND o.valid_start < c.valid_end AND o.valid_end > c.valid_start)
    ), x AS (
        SELECT k.label, k.f AS from_ts, k.village_code, sum(k.mean_mm) AS rain_mm,
               sum(k.max_mm) AS max_mm, sum(k.coverage * k.dur_s) AS cov_s,
               sum(k.dur_s) AS seconds
        FROM kept k
        GROUP BY k.village_code, k.f, k.label
    )
    SELECT s.label, s.from_ts, g.village_code, s.rain_mm, s.max_mm,
           least(1.0, s.cov_s / date_part('epoch', %2$L::timestamptz - s.from_ts)) AS coverage,
           s.seconds
    FROM g
    CROSS JOIN LATERAL (VALUES %8$s) AS s (label, from_ts, rain_mm, max_mm, cov_s, seconds)
    WHERE g.simple AND s.seconds IS NOT NULL
    UNION ALL
    SELECT x.label, x.from_ts, x.village_code, x.rain_mm, x.max_mm,
           least(1.0, x.cov_s / date_part('epoch', %2$L::timestamptz - x.from_ts)), x.seconds
    FROM x
    $q$, p_product, p_to, first, p_issued, starts,
    -- without p_issued, one issue per period is sure when every row is an observation
    -- (issued_at = valid_end: one row per period and village)
    CASE WHEN p_issued IS NULL THEN 'bool_and(d.observed)' ELSE 'true' END,
    sums, slots, labels, rows_sql);
END
$fn$;

ALTER FUNCTION village_rain_windows(timestamptz, integer[]) SET work_mem = '64MB';
ALTER FUNCTION village_rain_sum(text, timestamptz, timestamptz, timestamptz)
    SET work_mem = '64MB';

-- Every village's sums over the last h hours up to `at` for each h in `hours` from ONE product
-- (no fallback): what village_rain_windows does per product. The rules read the gauge windows
-- with it when they sum the grid arrays of the analyses themselves (geo/rules/rain_arrays.py).
CREATE FUNCTION village_rain_windows_of(p_product text, at timestamptz, hours integer[])
RETURNS TABLE (window_hours integer, village_code text, rain_mm double precision,
               max_mm double precision, coverage double precision)
LANGUAGE plpgsql STABLE
SET jit = off
SET work_mem = '64MB'
AS $fn$
DECLARE
    hs integer[];
    starts timestamptz[];
BEGIN
    SELECT array_agg(h ORDER BY h), array_agg(at - make_interval(hours => h) ORDER BY h)
      INTO hs, starts
      FROM (SELECT DISTINCT h FROM unnest(village_rain_windows_of.hours) AS u (h) WHERE h > 0) x;
    IF at IS NULL OR hs IS NULL OR p_product IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT s.label, s.village_code::text, s.rain_mm, s.max_mm, s.coverage FROM (%s) s',
        village_rain_sums_sql(p_product, at, starts, hs, NULL));
END
$fn$;

-- The rules read every village's code and name in code order (geo/rules/sql/villages.sql): an
-- index-only scan instead of reading the whole admin_unit heap with its outlines.
CREATE INDEX admin_unit_village_names_idx ON admin_unit (level, code COLLATE "C")
    INCLUDE (name, gb2260);

-- As in 0017; the latest run is looked up in the two tables, not in the view (which would
-- unnest every forecast grid to find it). A grid row always holds a value when written.
CREATE OR REPLACE FUNCTION village_rain_forecast(issued timestamptz, from_ts timestamptz,
                                                 to_ts timestamptz)
RETURNS TABLE (village_code text, rain_mm double precision, max_mm double precision,
               coverage double precision, source text)
LANGUAGE sql STABLE AS $$
    WITH run AS (
        SELECT coalesce(issued, (
            SELECT max(x.issued_at) FROM (
                SELECT r.issued_at FROM village_rain_row r
                WHERE r.product = 'qpf' AND r.valid_end > from_ts
                  AND r.valid_start >= from_ts AND r.valid_end <= to_ts
                UNION ALL
                SELECT g.issued_at FROM village_rain_grid g
                WHERE g.product = 'qpf' AND g.valid_end > from_ts
                  AND g.valid_start >= from_ts AND g.valid_end <= to_ts) x)) AS issued_at
    )
    SELECT s.village_code, s.rain_mm, s.max_mm, s.coverage, 'qpf'
    FROM run, village_rain_sum('qpf', from_ts, to_ts, run.issued_at) s
    WHERE run.issued_at IS NOT NULL
$$;

-- As in 0017 (same arguments and results; the API's village page calls it), reading the
-- village's rows by index through village_rain_of instead of the view.
CREATE OR REPLACE FUNCTION village_rain_sums_exact(p_village text, p_product text,
                                                   p_to timestamptz, p_from timestamptz[],
                                                   p_issued timestamptz)
RETURNS TABLE (from_ts timestamptz, rain_mm double precision, max_mm double precision,
               cov_s double precision, seconds double precision)
LANGUAGE sql STABLE AS $$
    WITH latest AS (
        SELECT DISTINCT ON (w.f, r.valid_start, r.valid_end)
               w.f, r.valid_start, r.valid_end, r.mean_mm, r.max_mm, r.coverage,
               extract(epoch FROM r.valid_end - r.valid_start) AS dur_s
        FROM unnest(p_from) AS w (f)
        JOIN village_rain_of(p_village, (SELECT min(f) FROM unnest(p_from) f), p_to) r
          ON r.valid_start >= w.f
        WHERE r.product = p_product
          AND (p_issued IS NULL OR r.issued_at = p_issued)
        ORDER BY w.f, r.valid_start, r.valid_end, r.issued_at DESC
    ), anchored AS (
        SELECT l.*, max(l.valid_end) OVER (PARTITION BY l.f, l.dur_s) AS anchor
        FROM latest l
    ), chained AS (
        SELECT a.* FROM anchored a
        WHERE mod(extract(epoch FROM a.anchor - a.valid_end), a.dur_s) = 0
    ), kept AS (
        SELECT c.* FROM chained c
        WHERE NOT EXISTS (
            SELECT 1 FROM chained o
            WHERE o.f = c.f AND o.dur_s < c.dur_s
              AND o.valid_start < c.valid_end AND o.valid_end > c.valid_start)
    )
    SELECT k.f, sum(k.mean_mm), sum(k.max_mm), sum(k.coverage * k.dur_s), sum(k.dur_s)
    FROM kept k
    GROUP BY k.f
$$;
