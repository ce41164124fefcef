-- Map-tile outlines of the counties whose units changed (0019/0024), built with the load, not
-- by the first map view after it (seconds for a county: simplified per zoom band, cut per tile).
SELECT tile_refresh_pending() AS units;
