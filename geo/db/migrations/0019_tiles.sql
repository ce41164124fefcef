-- depends: 0018_users
-- Map tiles: township and village outlines pre-simplified per zoom band in Web Mercator, so a
-- vector tile costs an index lookup and ST_AsMVTGeom, not a transform and a simplification of
-- every outline on every request.
--
-- Bands (one partition each, see tile_band()): band 6 serves zooms ≤ 6, band 8 zooms 7–8, band
-- 10 zooms 9–10, band 12 zooms 11–12 and band 14 zooms 13 and above. Each is simplified with a
-- tolerance of one tile unit (1/4096 of a tile) at the band's highest zoom, so the error is at
-- most one unit there and half a unit at the band's lower zoom: gaps or overlaps between neighbours stay below what ST_AsMVTGeom's own
-- snapping to the 4096 grid moves anyway (no visible slivers). Outlines stay valid
-- (ST_SimplifyPreserveTopology, then ST_MakeValid as a guard; a collapsed outline falls back to
-- the unsimplified one).
--
-- Freshness: statement-level triggers on admin_unit queue the counties whose units changed (one
-- small insert per statement, so bulk loads stay fast); tile_refresh_pending() rebuilds the
-- queued counties and is called by the tile service before it serves (and by anything that
-- wants the tiles current at once). Deleted units leave through ON DELETE CASCADE.
-- Changes to anything tiled are announced on channel riskmap_tiles for the workers' caches.

CREATE TABLE tile_admin_unit (
    code    text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE ON UPDATE CASCADE,
    band    smallint NOT NULL,  -- the highest zoom this outline is simplified for
    level   text NOT NULL CHECK (level IN ('township', 'village')),
    gb2260  char(6) NOT NULL,
    geom    geometry(MultiPolygon, 3857) NOT NULL,
    PRIMARY KEY (band, code)
) PARTITION BY LIST (band);
CREATE TABLE tile_admin_unit_z6 PARTITION OF tile_admin_unit FOR VALUES IN (6);
CREATE TABLE tile_admin_unit_z8 PARTITION OF tile_admin_unit FOR VALUES IN (8);
CREATE TABLE tile_admin_unit_z10 PARTITION OF tile_admin_unit FOR VALUES IN (10);
CREATE TABLE tile_admin_unit_z12 PARTITION OF tile_admin_unit FOR VALUES IN (12);
CREATE TABLE tile_admin_unit_z14 PARTITION OF tile_admin_unit FOR VALUES IN (14);
CREATE INDEX tile_admin_unit_geom_idx ON tile_admin_unit USING gist (geom);
CREATE INDEX tile_admin_unit_county_idx ON tile_admin_unit (gb2260);
COMMENT ON TABLE tile_admin_unit IS
    'Township and village outlines in EPSG:3857, simplified per zoom band, for vector tiles';

-- The band that serves zoom z (a tile query prunes to that band's partition).
CREATE FUNCTION tile_band(z integer) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN z <= 6 THEN 6 WHEN z <= 8 THEN 8 WHEN z <= 10 THEN 10 WHEN z <= 12 THEN 12
                 ELSE 14 END)::smallint
$$;

CREATE TABLE tile_refresh_queue (
    gb2260     char(6) PRIMARY KEY,
    queued_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tile_refresh_queue IS 'Counties whose tile outlines must be rebuilt';

-- One unit's outline simplified for the band whose highest zoom is `z` (tolerance: one tile
-- unit at that zoom, 40075016.686 m / 2^z / 4096).
CREATE FUNCTION tile_simplify(g geometry, z integer) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ST_IsEmpty(s) THEN ST_Multi(g) ELSE s END
    FROM (
        SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(
                   ST_SimplifyPreserveTopology(g, 40075016.686 / (2 ^ z) / 4096.0)), 3)) AS s
    ) x
$$;

-- Rebuild the tile outlines of the given counties.
CREATE FUNCTION tile_refresh(counties text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM tile_admin_unit
    WHERE gb2260 = ANY (counties)
       OR code IN (SELECT a.code FROM admin_unit a WHERE a.gb2260 = ANY (counties));
    INSERT INTO tile_admin_unit (code, band, level, gb2260, geom)
    SELECT a.code, b.band, a.level, a.gb2260, tile_simplify(m.g, b.band)
    FROM admin_unit a
    CROSS JOIN LATERAL (SELECT ST_Transform(a.geom, 3857) AS g) m
    CROSS JOIN (VALUES (6), (8), (10), (12), (14)) b (band)
    WHERE a.level IN ('township', 'village') AND a.gb2260 = ANY (counties);
    GET DIAGNOSTICS n = ROW_COUNT;
    n := n / 5;  -- units, not rows
    DELETE FROM tile_refresh_queue WHERE gb2260 = ANY (counties);
    ANALYZE tile_admin_unit;  -- fresh statistics for the tile queries' plans
    RETURN n;
END;
$$;

-- Rebuild every queued county; concurrent callers wait for one another rather than build twice.
CREATE FUNCTION tile_refresh_pending() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    todo text[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM tile_refresh_queue) THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('riskmap.tile_refresh'));
    SELECT array_agg(gb2260) INTO todo FROM tile_refresh_queue;
    IF todo IS NULL THEN
        RETURN 0;
    END IF;
    RETURN tile_refresh(todo);
END;
$$;

CREATE FUNCTION tile_queue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tile_refresh_queue (gb2260)
    SELECT DISTINCT gb2260 FROM changed_rows WHERE level IN ('township', 'village')
    ON CONFLICT (gb2260) DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER admin_unit_tiles_insert AFTER INSERT ON admin_unit
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_queue_changed();
CREATE TRIGGER admin_unit_tiles_update AFTER UPDATE ON admin_unit
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_queue_changed();

-- Tile caches in the API workers (api/tiles/cache.py) are emptied by these notifications,
-- delivered at commit; identical notifications of one transaction are sent once.
CREATE FUNCTION tile_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('riskmap_tiles', TG_ARGV[0]);
    RETURN NULL;
END;
$$;
-- 'outlines': tiles AND the simplified outlines are stale (the next render rebuilds them)
CREATE TRIGGER admin_unit_tiles_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin_unit
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('outlines');
CREATE TRIGGER village_risk_tiles_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON village_risk
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles');
CREATE TRIGGER warning_tiles_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON warning
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles');
CREATE TRIGGER hazard_point_tiles_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON hazard_point
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles');
CREATE TRIGGER shelter_tiles_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shelter
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles');
CREATE TRIGGER station_tiles_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON station
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles');
CREATE TRIGGER tile_admin_unit_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tile_admin_unit
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles');
-- tile requests may carry ?token=: their checks are cached too, until users or tokens change
CREATE TRIGGER api_token_tiles_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_token
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tokens');
CREATE TRIGGER app_user_tiles_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON app_user
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tokens');

-- Units loaded before this migration.
INSERT INTO tile_refresh_queue (gb2260)
SELECT DISTINCT gb2260 FROM admin_unit WHERE level IN ('township', 'village');
