-- The session's staging table of readings, typed as the binary COPY writes them
-- (geo/db/binary_copy.py); emptied at each commit, made once per connection.
CREATE TEMP TABLE IF NOT EXISTS ws_reading_stage (
    point_n bigint,
    tm      timestamptz,
    value   double precision,
    flag    text
) ON COMMIT DELETE ROWS;
