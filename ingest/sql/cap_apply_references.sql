-- Apply the <references> of Update and Cancel messages, in either arrival order: alerts that a
-- message of this ingest references, and alerts of this ingest that earlier messages referenced,
-- take their state from the latest (by sent) Update/Cancel that references them.
WITH touched AS (
    SELECT id, sender, identifier FROM cap_alert WHERE ingest_id = %(ingest_id)s
), targets AS (
    SELECT a.id
    FROM touched n
    JOIN cap_reference r ON r.alert_id = n.id
    JOIN cap_alert a ON a.sender = r.ref_sender AND a.identifier = r.ref_identifier
    UNION
    SELECT t.id
    FROM touched t
    JOIN cap_reference r ON r.ref_sender = t.sender AND r.ref_identifier = t.identifier
), latest AS (
    SELECT DISTINCT ON (a.id)
        a.id AS target,
        n.id AS by_id,
        CASE n.msg_type WHEN 'Cancel' THEN 'cancelled' ELSE 'updated' END AS new_state
    FROM targets t
    JOIN cap_alert a ON a.id = t.id
    JOIN cap_reference r ON r.ref_sender = a.sender AND r.ref_identifier = a.identifier
    JOIN cap_alert n ON n.id = r.alert_id
    WHERE n.msg_type IN ('Update', 'Cancel') AND n.id <> a.id
    ORDER BY a.id, n.sent DESC, n.id
)
UPDATE cap_alert a
SET state = l.new_state, superseded_by = l.by_id
FROM latest l
WHERE a.id = l.target
  AND (a.state IS DISTINCT FROM l.new_state OR a.superseded_by IS DISTINCT FROM l.by_id);
