-- The village order of grid rows (NULL where a village was deleted since).
SELECT codes FROM village_set WHERE id = %(id)s;
