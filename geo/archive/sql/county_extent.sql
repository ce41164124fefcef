-- The extent (WGS 84) of a county's villages: the demo's synthetic archive covers it.
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Extent(geom) AS e FROM admin_unit
      WHERE level = 'village' AND gb2260 = %(county)s) AS x;
