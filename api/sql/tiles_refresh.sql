-- Rebuild the pre-simplified outlines of counties whose units changed (0019_tiles).
SELECT tile_refresh_pending() AS rebuilt;
