-- depends: 0048_worksafety_points
-- Issue 21: the reading servers (riskmap ingest hj212, MQTT) map (MN, factor) and point ids to
-- ws_point.n in memory; any change to ws_point (a site configuration loaded, a device swapped)
-- is announced on channel ws_points at commit, so they read the map again at once instead of
-- quarantining a new device's packets until their next periodic reload.

CREATE FUNCTION ws_point_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ws_points', TG_OP);
    RETURN NULL;
END;
$$;

CREATE TRIGGER ws_point_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ws_point
    FOR EACH STATEMENT EXECUTE FUNCTION ws_point_notify();
