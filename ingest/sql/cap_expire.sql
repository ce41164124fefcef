-- Active alerts all of whose info blocks have expired become 'expired' (alerts without info, or
-- with an info block that never expires, stay active until updated or cancelled).
UPDATE cap_alert a
SET state = 'expired'
WHERE a.state = 'active'
  AND EXISTS (SELECT 1 FROM cap_info i WHERE i.alert_id = a.id)
  AND NOT EXISTS (
      SELECT 1 FROM cap_info i
      WHERE i.alert_id = a.id AND (i.expires IS NULL OR i.expires > %(now)s)
  );
