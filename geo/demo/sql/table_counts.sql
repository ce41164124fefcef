-- Rows of a dataset in the main layers, to report what was loaded.
SELECT
    (SELECT count(*) FROM admin_unit WHERE dataset_id = %(id)s AND level = 'township') AS townships,
    (SELECT count(*) FROM admin_unit WHERE dataset_id = %(id)s AND level = 'village') AS villages,
    (SELECT coalesce(sum(population), 0) FROM admin_unit
      WHERE dataset_id = %(id)s AND level = 'village') AS population;
