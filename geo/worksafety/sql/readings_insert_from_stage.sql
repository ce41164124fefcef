-- Staged readings into their monthly partitions; a reading already stored (same point and time,
-- e.g. a device resending a packet it got no answer to) is skipped, not an error.
INSERT INTO ws_reading (point_n, tm, value, flag)
SELECT point_n, tm, value, flag FROM ws_reading_stage
ON CONFLICT (point_n, tm) DO NOTHING;
