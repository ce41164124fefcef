-- A dam's path, replacing an earlier one (its villages go with it, ON DELETE CASCADE).
DELETE FROM ws_site_downstream_path WHERE site_id = %(site_id)s;
