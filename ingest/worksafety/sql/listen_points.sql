LISTEN ws_points;
