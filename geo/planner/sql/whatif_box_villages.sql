-- Village outlines (WGS 84) meeting a lon/lat box: the villages a hypothetical rain grid covers.
SELECT v.code, ST_AsBinary(v.geom)
FROM village v
WHERE v.geom && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)
ORDER BY v.code
