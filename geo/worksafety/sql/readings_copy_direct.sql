COPY ws_reading (point_n, tm, value, flag) FROM STDIN (FORMAT binary)
