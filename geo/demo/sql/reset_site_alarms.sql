-- Demo only: forget the readings and the alarm engine's work on a county's sites, so the storm
-- replays afresh (its notices go with the demo's warnings: warnings/sql/demo_reset.sql).
WITH pts AS (
    SELECT p.id, p.n, p.site_id
    FROM ws_point p JOIN hazardous_site s ON s.id = p.site_id
    WHERE s.admin_code LIKE %(county)s || '%%'
), readings AS (
    DELETE FROM ws_reading WHERE point_n IN (SELECT n FROM pts)
), alarms AS (
    DELETE FROM ws_alarm WHERE point_id IN (SELECT id FROM pts)
), states AS (
    DELETE FROM ws_alarm_state WHERE point_id IN (SELECT id FROM pts)
), grades AS (
    DELETE FROM ws_site_grade WHERE site_id IN (SELECT site_id FROM pts)
)
DELETE FROM ws_event WHERE site_id IN (SELECT site_id FROM pts);
