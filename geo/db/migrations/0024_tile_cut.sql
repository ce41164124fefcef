-- depends: 0019_tiles
-- Township and village outlines pre-cut per tile for zooms 4–14: each row is exactly what
-- ST_AsMVTGeom gives for that outline in that tile (tile coordinates, extent 4096, buffer 64,
-- clipped), with the unit's name, kind and township name. A vector tile at those zooms is then an
-- index range scan, the risk and warning joins and ST_AsMVT; no clipping or snapping per request.
--
-- Why: a low-zoom tile holds a whole county (1,500–3,000 villages at z8); clipping and snapping
-- every outline on every request made those few tiles cost 20–25 ms of PostgreSQL each, and
-- under 50 concurrent map clients they were the slow tail. Outlines change about once a year;
-- risk levels and warnings, which do change, are still joined per request, so a tile is never
-- staler than the tables it is drawn from.
--
-- Rebuilt with the per-band outlines (tile_refresh, which this migration extends), from the
-- same simplified geometry and with the same envelope, extent and buffer as api/tiles/mvt.py
-- (EXTENT 4096, BUFFER 64), so a pre-cut tile is byte-for-byte the live one (tested).
-- Zooms above 14 (and below 4) are rendered live from tile_admin_unit: there a tile holds
-- few outlines and the pyramid holds too many tiles to pre-cut.

CREATE TABLE tile_cut (
    z         smallint NOT NULL CHECK (z BETWEEN 4 AND 14),
    x         integer NOT NULL,
    y         integer NOT NULL,
    level     text NOT NULL CHECK (level IN ('township', 'village')),
    code      text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE ON UPDATE CASCADE,
    gb2260    char(6) NOT NULL,
    name      text,
    kind      text,
    township  text,  -- villages: the parent township's name
    geom      geometry NOT NULL,  -- tile coordinates (no SRID), as ST_AsMVT wants them
    PRIMARY KEY (z, x, y, level, code)
);
CREATE INDEX tile_cut_county_idx ON tile_cut (gb2260);
-- Low-zoom tiles hold thousands of rows, high-zoom ones a handful: the planner needs to know
-- which (most common values of z, x, y together) to pick the join that fits each.
CREATE STATISTICS tile_cut_xyz (mcv) ON z, x, y FROM tile_cut;
COMMENT ON TABLE tile_cut IS
    'Township and village outlines clipped to each vector tile of zooms 4-14 (ST_AsMVTGeom output)';

-- Cut the tile outlines of the given counties (tile_admin_unit must be current for them).
CREATE FUNCTION tile_cut_build(counties text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM tile_cut  -- units that moved to another county go too
    WHERE gb2260 = ANY (counties)
       OR code IN (SELECT a.code FROM admin_unit a WHERE a.gb2260 = ANY (counties));
    INSERT INTO tile_cut (z, x, y, level, code, gb2260, name, kind, township, geom)
    SELECT c.z, c.x, c.y, c.level, c.code, c.gb2260, a.name, a.kind, p.name, c.geom
    FROM (
        SELECT zs.z, tx.x, ty.y, t.level, t.code, t.gb2260,
               ST_AsMVTGeom(t.geom, ST_TileEnvelope(zs.z, tx.x, ty.y), 4096, 64, true) AS geom
        FROM tile_admin_unit t
        CROSS JOIN generate_series(4, 14) zs (z)
        -- tile size and the 64-unit buffer in metres at this zoom
        CROSS JOIN LATERAL (
            SELECT 40075016.6855784 / (2 ^ zs.z) AS size,
                   40075016.6855784 / (2 ^ zs.z) * 64 / 4096 AS margin
        ) s
        -- every tile whose buffered envelope meets the outline's box (as `geom && wide` does)
        CROSS JOIN LATERAL generate_series(
            greatest(0, floor((ST_XMin(t.geom) - s.margin + 20037508.3427892) / s.size))::integer,
            least(2 ^ zs.z - 1, floor((ST_XMax(t.geom) + s.margin + 20037508.3427892) / s.size))::integer
        ) tx (x)
        CROSS JOIN LATERAL generate_series(
            greatest(0, floor((20037508.3427892 - ST_YMax(t.geom) - s.margin) / s.size))::integer,
            least(2 ^ zs.z - 1, floor((20037508.3427892 - ST_YMin(t.geom) + s.margin) / s.size))::integer
        ) ty (y)
        WHERE t.band = tile_band(zs.z) AND t.gb2260 = ANY (counties)
    ) c
    JOIN admin_unit a ON a.code = c.code
    LEFT JOIN admin_unit p ON p.code = a.parent_code AND c.level = 'village'
    WHERE c.geom IS NOT NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    ANALYZE tile_cut;
    RETURN n;
END;
$$;

-- 0019's rebuild keeps its body under a new name; tile_refresh (called by
-- tile_refresh_pending and by anyone wanting tiles current) now also cuts the tiles.
ALTER FUNCTION tile_refresh(text[]) RENAME TO tile_refresh_outlines;

CREATE FUNCTION tile_refresh(counties text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    n := tile_refresh_outlines(counties);  -- units rebuilt
    PERFORM tile_cut_build(counties);
    RETURN n;
END;
$$;

-- Counties already outlined.
DO $$
BEGIN
    PERFORM tile_cut_build(array_agg(DISTINCT gb2260)) FROM tile_admin_unit;
END
$$;
