-- The session's staging table of readings, typed as ws_reading (the binary COPY writes its
-- types); emptied at each commit, made once per connection.
CREATE TEMP TABLE IF NOT EXISTS ws_reading_stage (
    point_n integer,
    tm      timestamptz,
    value   double precision,
    flag    char(1)
) ON COMMIT DELETE ROWS;
