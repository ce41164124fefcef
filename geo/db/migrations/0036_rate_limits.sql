-- depends: 0035_drills
-- Rate limits shared by every API instance (issue 22): failed sign-ins per name and per client
-- address, write actions per user. They were counted in each worker's memory, so two instances
-- behind a proxy (or two workers) doubled the allowance. A moving window, as before: a key may
-- use `max_hits` hits in any `period`; each key's hits in the window are one row (at most
-- `max_hits` timestamps), updated under the row lock, so concurrent hits from any number of
-- instances are counted exactly.
CREATE TABLE rate_limit (
    bucket     text        NOT NULL,  -- what is limited: 'sign-in', 'write'
    key        text        NOT NULL,  -- whose: 'name:wang', 'address:10.0.0.7', a user name
    hits       timestamptz[] NOT NULL DEFAULT '{}',
    expires_at timestamptz NOT NULL,  -- the last hit + the period: the row is useless after it
    PRIMARY KEY (bucket, key)
);
CREATE INDEX rate_limit_expires_at ON rate_limit (expires_at);

-- One hit (take => true) or only a look (take => false): whether it is (or would be) allowed,
-- and when not, the seconds until the oldest hit in the window leaves it (Retry-After).
CREATE FUNCTION rate_limit_hit(
    p_bucket text, p_key text, p_max integer, p_period interval, p_take boolean
) RETURNS TABLE (allowed boolean, retry_after_s double precision)
LANGUAGE plpgsql AS $$
DECLARE
    t    timestamptz := clock_timestamp();
    kept timestamptz[];
BEGIN
    -- the row exists before it is locked (a concurrent first hit waits on the unique index)
    INSERT INTO rate_limit (bucket, key, expires_at) VALUES (p_bucket, p_key, t)
        ON CONFLICT DO NOTHING;
    SELECT r.hits INTO kept FROM rate_limit r
        WHERE r.bucket = p_bucket AND r.key = p_key FOR UPDATE;
    kept := ARRAY(SELECT h FROM unnest(kept) h WHERE h > t - p_period ORDER BY h);
    allowed := cardinality(kept) < p_max;
    IF allowed AND p_take THEN
        kept := kept || t;
    END IF;
    UPDATE rate_limit r SET hits = kept, expires_at = coalesce(kept[cardinality(kept)], t) + p_period
        WHERE r.bucket = p_bucket AND r.key = p_key;
    retry_after_s := CASE WHEN allowed THEN 0
        ELSE extract(epoch FROM kept[cardinality(kept) - p_max + 1] + p_period - t) END;
    -- keys seen once (addresses) must not pile up: now and then drop the expired rows
    IF random() < 0.01 THEN
        DELETE FROM rate_limit r WHERE r.expires_at < t;
    END IF;
    RETURN NEXT;
END;
$$;
