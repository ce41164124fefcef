INSERT INTO ws_site (site_id, supervising_section, maintenance_contact, auto_issue, config,
                     config_sha256, dataset_id)
VALUES (%(site_id)s, %(section)s, %(contact)s, %(auto_issue)s, %(config)s, %(sha256)s,
        %(dataset_id)s)
ON CONFLICT (site_id) DO UPDATE
SET supervising_section = EXCLUDED.supervising_section,
    maintenance_contact = EXCLUDED.maintenance_contact, auto_issue = EXCLUDED.auto_issue,
    config = EXCLUDED.config, config_sha256 = EXCLUDED.config_sha256,
    dataset_id = EXCLUDED.dataset_id;
