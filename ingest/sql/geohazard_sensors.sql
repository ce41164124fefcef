-- Kind and unit of the given sensors (readings are stored in the sensor's unit).
SELECT id, kind, unit FROM sensor WHERE id = ANY(%(ids)s::text[]);
