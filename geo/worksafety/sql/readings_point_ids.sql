-- Monitoring points by id (MQTT and HTTP name a point by its id), with each point's compact key.
SELECT id, n FROM ws_point;
