-- An alarm or fault is one row per (point, kind, opened_at): a later run updates it.
INSERT INTO ws_alarm (point_id, kind, fault_kind, level, max_level, began_at, opened_at, last_at,
                      cleared_at, peak, value, levels, flapping, suppressed, event_id)
VALUES (%(point_id)s, %(kind)s, %(fault_kind)s, %(level)s, %(max_level)s, %(began_at)s,
        %(opened_at)s, %(last_at)s, %(cleared_at)s, %(peak)s, %(value)s, %(levels)s,
        %(flapping)s, %(suppressed)s, %(event_id)s)
ON CONFLICT (point_id, kind, opened_at) DO UPDATE
SET level = EXCLUDED.level, max_level = EXCLUDED.max_level, last_at = EXCLUDED.last_at,
    cleared_at = EXCLUDED.cleared_at, peak = EXCLUDED.peak, value = EXCLUDED.value,
    levels = EXCLUDED.levels, flapping = EXCLUDED.flapping, suppressed = EXCLUDED.suppressed,
    event_id = coalesce(EXCLUDED.event_id, ws_alarm.event_id)
