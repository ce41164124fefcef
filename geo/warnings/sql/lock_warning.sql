SELECT * FROM warning WHERE id = %(id)s FOR UPDATE;
