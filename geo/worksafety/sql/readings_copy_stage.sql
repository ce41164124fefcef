COPY ws_reading_stage (point_n, tm, value, flag) FROM STDIN (FORMAT binary)
