-- The catalogued grid files (one row per period of a file) with their grid definition, in the
-- order they were ingested: what a reload recomputes changed villages' rain from.
SELECT f.id, f.path, f.product, f.step, f.to_mm, f.valid_start, f.valid_end, f.issued_at,
       f.sha256, f.ingest_id, f.grid_definition, d.crs, d.transform, d.width, d.height
FROM grid_file f
JOIN grid_definition d ON d.id = f.grid_definition
ORDER BY f.ingest_id NULLS FIRST, f.id;
