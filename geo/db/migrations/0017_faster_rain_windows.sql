-- depends: 0016_warnings
-- Faster rain accumulations, same results. The 0012 functions sorted every row of a window and
-- compared each period with every other period of its village (NOT EXISTS self-join), once per
-- window: seconds per call at 25,000 villages. Here the rows are read once for all windows and
-- grouped by village; a village whose periods are "simple" (one length, all on one chain of that
-- length, one issue per period, i.e. what hourly analyses give) sums them directly (the 0012
-- rules keep every such period), and any other village gets the 0012 rules applied to its own
-- rows (village_rain_sums_exact). village_rain_windows() gives several windows in one call.

-- The 0012 rules for one village and product over the windows [p_from[i], p_to]: latest issue
-- of each period, rolling periods thinned to the chain ending at the latest one, coarser periods
-- overlapped by finer ones left out. cov_s is Σ coverage × seconds, seconds Σ period lengths.
CREATE FUNCTION village_rain_sums_exact(p_village text, p_product text, p_to timestamptz,
                                        p_from timestamptz[], p_issued timestamptz)
RETURNS TABLE (from_ts timestamptz, rain_mm double precision, max_mm double precision,
               cov_s double precision, seconds double precision)
LANGUAGE sql STABLE AS $$
    WITH latest AS (
        SELECT DISTINCT ON (w.f, r.valid_start, r.valid_end)
               w.f, r.valid_start, r.valid_end, r.mean_mm, r.max_mm, r.coverage,
               extract(epoch FROM r.valid_end - r.valid_start) AS dur_s
        FROM unnest(p_from) AS w (f)
        JOIN village_rain r ON r.valid_start >= w.f
        WHERE r.village_code = p_village AND r.product = p_product AND r.valid_end <= p_to
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

-- SQL text of a query giving, for one product, every village's sums over each window
-- [starts[i], p_to] (only periods wholly inside count; starts distinct, each before p_to):
-- columns label (labels[i]), from_ts, village_code, rain_mm, max_mm, coverage, seconds.
-- p_issued: only rows of that issue. Windows are written in as constants so each FILTER is a
-- plain comparison; village codes are grouped under the "C" collation (byte order, cheapest).
CREATE FUNCTION village_rain_sums_sql(p_product text, p_to timestamptz, starts timestamptz[],
                                      labels integer[], p_issued timestamptz)
RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    sums text := '';
    slots text := '';
    first timestamptz := (SELECT min(f) FROM unnest(starts) f);
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
    RETURN format($q$
    SELECT s.label, s.from_ts, g.village_code, s.rain_mm, s.max_mm,
           least(1.0, s.cov_s / date_part('epoch', %2$L::timestamptz - s.from_ts)) AS coverage,
           s.seconds
    FROM (
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
            FROM village_rain r
            WHERE r.product = %1$L AND r.valid_end <= %2$L::timestamptz
              AND r.valid_end > %3$L::timestamptz AND r.valid_start >= %3$L::timestamptz
              AND (%4$L::timestamptz IS NULL OR r.issued_at = %4$L::timestamptz)
            OFFSET 0  -- compute the row expressions once, not once per aggregate
        ) d
        GROUP BY d.village_code
    ) g
    CROSS JOIN LATERAL (
        SELECT v.* FROM (VALUES %8$s) AS v (label, from_ts, rain_mm, max_mm, cov_s, seconds)
        WHERE g.simple AND v.seconds IS NOT NULL
        UNION ALL
        SELECT w.label, x.from_ts, x.rain_mm, x.max_mm, x.cov_s, x.seconds
        FROM village_rain_sums_exact(g.village_code COLLATE "default", %1$L, %2$L::timestamptz,
                                     %5$L::timestamptz[], %4$L::timestamptz) x
        JOIN unnest(%5$L::timestamptz[], %9$L::integer[]) AS w (f, label) ON w.f = x.from_ts
        WHERE NOT g.simple
    ) s
    $q$, p_product, p_to, first, p_issued, starts,
    -- without p_issued, one issue per period is sure when every row is an observation
    -- (issued_at = valid_end: the key holds one row per period)
    CASE WHEN p_issued IS NULL THEN 'bool_and(d.observed)' ELSE 'true' END,
    sums, slots, labels);
END
$fn$;

-- Observed rain of each village over the last h hours up to `at` for every h in `hours` (one
-- row per village and window, window_hours = h): as village_rain_window(at, h) for each h, in
-- one pass over the rows. Gridded analyses (qpe) with some coverage win; villages without fall
-- back to rain gauges.
CREATE FUNCTION village_rain_windows(at timestamptz, hours integer[])
RETURNS TABLE (window_hours integer, village_code text, rain_mm double precision,
               max_mm double precision, coverage double precision, source text)
LANGUAGE plpgsql STABLE
SET jit = off  -- compiling the long query costs more than it saves, even at 500,000 villages
AS $fn$
DECLARE
    hs integer[];
    starts timestamptz[];
BEGIN
    SELECT array_agg(h ORDER BY h), array_agg(at - make_interval(hours => h) ORDER BY h)
      INTO hs, starts
      FROM (SELECT DISTINCT h FROM unnest(village_rain_windows.hours) AS u (h) WHERE h > 0) x;
    IF at IS NULL OR hs IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format($q$
        SELECT coalesce(q.label, g.label), coalesce(q.village_code, g.village_code)::text,
               CASE WHEN q.label IS NULL THEN g.rain_mm ELSE q.rain_mm END,
               CASE WHEN q.label IS NULL THEN g.max_mm ELSE q.max_mm END,
               CASE WHEN q.label IS NULL THEN g.coverage ELSE q.coverage END,
               CASE WHEN q.label IS NULL THEN 'gauge' ELSE 'qpe' END
        FROM (SELECT * FROM (%s) q0 WHERE q0.coverage > 0) q
        FULL JOIN (%s) g ON g.village_code = q.village_code AND g.label = q.label
    $q$, village_rain_sums_sql('qpe', at, starts, hs, NULL),
         village_rain_sums_sql('gauge', at, starts, hs, NULL));
END
$fn$;

-- The 0012 functions, same signatures and results, now on the code above.
CREATE OR REPLACE FUNCTION village_rain_sum(p_product text, p_from timestamptz,
                                            p_to timestamptz, p_issued timestamptz DEFAULT NULL)
RETURNS TABLE (village_code text, rain_mm double precision, max_mm double precision,
               coverage double precision, hours double precision)
LANGUAGE plpgsql STABLE
SET jit = off
AS $fn$
BEGIN
    IF p_product IS NULL OR NOT p_from < p_to THEN  -- NULL bounds: nothing, as before
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT s.village_code::text, s.rain_mm, s.max_mm, s.coverage,'
        ' (s.seconds::numeric / 3600.0)::double precision FROM (%s) s',
        village_rain_sums_sql(p_product, p_to, ARRAY[p_from], ARRAY[0], p_issued));
END
$fn$;

CREATE OR REPLACE FUNCTION village_rain_window(at timestamptz, hours integer)
RETURNS TABLE (village_code text, rain_mm double precision, max_mm double precision,
               coverage double precision, source text)
LANGUAGE sql STABLE AS $$
    SELECT w.village_code, w.rain_mm, w.max_mm, w.coverage, w.source
    FROM village_rain_windows(village_rain_window.at, ARRAY[village_rain_window.hours]) w
$$;

CREATE OR REPLACE FUNCTION village_rain_forecast(issued timestamptz, from_ts timestamptz,
                                                 to_ts timestamptz)
RETURNS TABLE (village_code text, rain_mm double precision, max_mm double precision,
               coverage double precision, source text)
LANGUAGE sql STABLE AS $$
    WITH run AS (
        SELECT coalesce(issued, (SELECT max(r.issued_at) FROM village_rain r
                                 WHERE r.product = 'qpf' AND r.valid_end > from_ts
                                   AND r.valid_start >= from_ts AND r.valid_end <= to_ts))
                   AS issued_at
    )
    SELECT s.village_code, s.rain_mm, s.max_mm, s.coverage, 'qpf'
    FROM run, village_rain_sum('qpf', from_ts, to_ts, run.issued_at) s
    WHERE run.issued_at IS NOT NULL
$$;
