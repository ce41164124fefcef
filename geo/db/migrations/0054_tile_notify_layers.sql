-- depends: 0019_tiles 0030_river_tiles_notify
-- Tile cache notifications name what changed, so the API workers (api/tiles/cache.py) drop only
-- the tiles a change can alter instead of every cached tile.
--
-- Why (issue 19): with a village's risk changing every 2 s under 50 map clients, each change
-- emptied every worker's whole cache; the whole tile list then rendered again under full load
-- and p99 went from 11–37 ms (no change) to 98–111 ms.
--
-- Payloads on channel riskmap_tiles, besides 0019's 'tiles' (every tile), 'outlines' and
-- 'tokens', which keep their meaning:
--   'tiles:<table>'                          the layers drawn from <table> (every tile of them)
--   'tiles:<table>:<xmin>,<ymin>,<xmax>,<ymax>'  only their tiles that can touch this box
--                                            (EPSG:3857) of the changed rows, old and new
-- The box is sent for statements of at most 1,000 rows (a rules run or a reload drops the
-- layers whole: no work per row beyond PostgreSQL's transition tables). village_risk draws
-- only risk_level per (village_code, hazard): an update that changes none of them (e.g. only
-- computed_at) notifies nothing. A changed row without a geometry drops the layers whole.

-- village_risk: the box of the changed villages' outlines.
CREATE FUNCTION tile_notify_village_risk() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text[];
    box box2d;
    outlined integer;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF (SELECT count(*) FROM (SELECT 1 FROM new_rows LIMIT 1001) n) > 1000 THEN
            PERFORM pg_notify('riskmap_tiles', 'tiles:village_risk');
            RETURN NULL;
        END IF;
        SELECT array_agg(DISTINCT village_code) INTO changed FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        IF (SELECT count(*) FROM (SELECT 1 FROM old_rows LIMIT 1001) o) > 1000 THEN
            PERFORM pg_notify('riskmap_tiles', 'tiles:village_risk');
            RETURN NULL;
        END IF;
        SELECT array_agg(DISTINCT village_code) INTO changed FROM old_rows;
    ELSE  -- UPDATE: only rows whose drawn values changed
        IF (SELECT count(*) FROM (SELECT 1 FROM new_rows LIMIT 1001) n) > 1000 THEN
            PERFORM pg_notify('riskmap_tiles', 'tiles:village_risk');
            RETURN NULL;
        END IF;
        SELECT array_agg(DISTINCT d.village_code) INTO changed FROM (
            (SELECT village_code, hazard, risk_level FROM new_rows
             EXCEPT SELECT village_code, hazard, risk_level FROM old_rows)
            UNION ALL
            (SELECT village_code, hazard, risk_level FROM old_rows
             EXCEPT SELECT village_code, hazard, risk_level FROM new_rows)
        ) d;
    END IF;
    IF changed IS NULL THEN
        RETURN NULL;  -- nothing drawn changed
    END IF;
    SELECT ST_Extent(a.geom), count(a.geom) INTO box, outlined
    FROM admin_unit a WHERE a.code = ANY (changed);
    IF box IS NULL OR outlined < cardinality(changed) THEN
        PERFORM pg_notify('riskmap_tiles', 'tiles:village_risk');
    ELSE
        PERFORM pg_notify('riskmap_tiles', 'tiles:village_risk:' || tile_notify_box(box));
    END IF;
    RETURN NULL;
END;
$$;

-- The EPSG:3857 box of an EPSG:4326 box (Web Mercator maps longitude and latitude separately
-- and monotonically: the corners' images bound the image).
CREATE FUNCTION tile_notify_box(box box2d) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT concat_ws(',', ST_XMin(m), ST_YMin(m), ST_XMax(m), ST_YMax(m))
    FROM (SELECT ST_Transform(ST_SetSRID(box::geometry, 4326), 3857) AS m) x
$$;

-- Tables with their own geometry (hazard_point, shelter, station, river): the box of the
-- changed rows' geometries, before and after.
CREATE FUNCTION tile_notify_geom() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    box box2d;
    n integer;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT count(*) INTO n FROM (SELECT 1 FROM new_rows LIMIT 1001) r;
    ELSE
        SELECT count(*) INTO n FROM (SELECT 1 FROM old_rows LIMIT 1001) r;
    END IF;
    IF n = 0 THEN
        RETURN NULL;
    ELSIF n > 1000 THEN
        PERFORM pg_notify('riskmap_tiles', 'tiles:' || TG_TABLE_NAME);
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT ST_Extent(geom) INTO box FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT ST_Extent(geom) INTO box FROM old_rows;
    ELSE
        SELECT ST_Extent(g) INTO box
        FROM (SELECT geom FROM new_rows UNION ALL SELECT geom FROM old_rows) r (g);
    END IF;
    IF box IS NULL THEN
        PERFORM pg_notify('riskmap_tiles', 'tiles:' || TG_TABLE_NAME);
    ELSE
        PERFORM pg_notify('riskmap_tiles', 'tiles:' || TG_TABLE_NAME || ':' || tile_notify_box(box));
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER village_risk_tiles_notify ON village_risk;
CREATE TRIGGER village_risk_tiles_insert AFTER INSERT ON village_risk
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_village_risk();
CREATE TRIGGER village_risk_tiles_update AFTER UPDATE ON village_risk
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_village_risk();
CREATE TRIGGER village_risk_tiles_delete AFTER DELETE ON village_risk
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_village_risk();
CREATE TRIGGER village_risk_tiles_truncate AFTER TRUNCATE ON village_risk
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles:village_risk');

DROP TRIGGER warning_tiles_notify ON warning;
CREATE TRIGGER warning_tiles_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON warning
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles:warning');

DROP TRIGGER hazard_point_tiles_notify ON hazard_point;
DROP TRIGGER shelter_tiles_notify ON shelter;
DROP TRIGGER station_tiles_notify ON station;
DROP TRIGGER river_tiles_notify ON river;

CREATE TRIGGER hazard_point_tiles_insert AFTER INSERT ON hazard_point
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_geom();
CREATE TRIGGER hazard_point_tiles_update AFTER UPDATE ON hazard_point
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_geom();
CREATE TRIGGER hazard_point_tiles_delete AFTER DELETE ON hazard_point
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_geom();
CREATE TRIGGER hazard_point_tiles_truncate AFTER TRUNCATE ON hazard_point
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles:hazard_point');

CREATE TRIGGER shelter_tiles_insert AFTER INSERT ON shelter
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_geom();
CREATE TRIGGER shelter_tiles_update AFTER UPDATE ON shelter
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_geom();
CREATE TRIGGER shelter_tiles_delete AFTER DELETE ON shelter
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_geom();
CREATE TRIGGER shelter_tiles_truncate AFTER TRUNCATE ON shelter
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles:shelter');

CREATE TRIGGER station_tiles_insert AFTER INSERT ON station
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_geom();
CREATE TRIGGER station_tiles_update AFTER UPDATE ON station
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_geom();
CREATE TRIGGER station_tiles_delete AFTER DELETE ON station
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_geom();
CREATE TRIGGER station_tiles_truncate AFTER TRUNCATE ON station
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles:station');

CREATE TRIGGER river_tiles_insert AFTER INSERT ON river
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_geom();
CREATE TRIGGER river_tiles_update AFTER UPDATE ON river
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_geom();
CREATE TRIGGER river_tiles_delete AFTER DELETE ON river
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_notify_geom();
CREATE TRIGGER river_tiles_truncate AFTER TRUNCATE ON river
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles:river');
