-- depends: 0029_user_password
-- The public `rivers` vector tile layer (the web map's offline basemap) is cached in the API
-- workers like the other layers: a change to the river network empties those caches too.
CREATE TRIGGER river_tiles_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON river
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tiles');
