SELECT 1 FROM dataset WHERE id = %(id)s;
