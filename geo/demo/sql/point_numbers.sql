-- Each monitoring point's compact key (ws_reading.point_n).
SELECT id, n FROM ws_point;
