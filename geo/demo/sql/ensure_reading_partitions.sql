SELECT ws_reading_ensure_partitions(%(start)s, %(end)s);
