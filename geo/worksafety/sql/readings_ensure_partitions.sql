-- Monthly partitions of ws_reading covering a batch's readings (migration 0048).
SELECT ws_reading_ensure_partitions(%(t_from)s, %(t_to)s);
