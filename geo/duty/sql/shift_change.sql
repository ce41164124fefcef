-- The shift change (start of a roster shift) of office %(org)s nearest to %(at)s, no further
-- than %(slack_s)s seconds away (0: exactly at %(at)s).
SELECT lower(ds.shift) AS shift_change
FROM duty_shift ds
WHERE ds.org_code = %(org)s
  AND lower(ds.shift) BETWEEN %(at)s::timestamptz - make_interval(secs => %(slack_s)s)
                          AND %(at)s::timestamptz + make_interval(secs => %(slack_s)s)
ORDER BY abs(extract(epoch FROM lower(ds.shift) - %(at)s::timestamptz)), lower(ds.shift)
LIMIT 1;
