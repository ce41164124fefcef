-- Serialise writers of one period key (product, start, end, issue) until the transaction ends.
SELECT pg_advisory_xact_lock(
    hashtextextended(concat_ws('|', 'village_rain', %(product)s::text, %(valid_start)s::text,
                               %(valid_end)s::text, %(issued_at)s::text), 0));
