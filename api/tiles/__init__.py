"""Map tiles: vector tiles from PostGIS (`mvt`) and rainfall grid tiles with a legend (`raster`)."""
