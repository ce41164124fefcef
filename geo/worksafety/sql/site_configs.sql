-- Every monitored site's stored configuration (the alarm settings of its points).
SELECT site_id, config FROM ws_site ORDER BY site_id;
