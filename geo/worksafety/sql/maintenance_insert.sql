-- A maintenance window (检修/标定) of a whole site or one point: its alarms are suppressed.
INSERT INTO ws_maintenance (site_id, point_id, starts_at, ends_at, reason)
VALUES (%(site_id)s, %(point_id)s, %(starts_at)s, %(ends_at)s, %(reason)s)
RETURNING id;
