-- The forest-cover rasters (fraction 0–1) catalogued for the risk maps, newest last: the land
-- cover under a satellite hotspot says forest fire or straw burning.
SELECT path, crs FROM raster_layer WHERE kind = 'forest' ORDER BY id
