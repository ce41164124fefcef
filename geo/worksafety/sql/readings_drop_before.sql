-- Retention: drop the months of readings that end at or before %(before)s (whole partitions).
SELECT ws_reading_drop_before(%(before)s);
