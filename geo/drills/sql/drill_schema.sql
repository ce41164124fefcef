UPDATE drill SET schema_name = %(schema)s WHERE id = %(id)s;
