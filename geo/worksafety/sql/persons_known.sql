SELECT id FROM person WHERE id = ANY(%(ids)s);
