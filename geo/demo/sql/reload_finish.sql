-- What the reload did, per table and to the village rain.
UPDATE dataset_reload SET tables = %(tables)s, rain = %(rain)s WHERE id = %(id)s;
