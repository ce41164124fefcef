-- depends: 0036_rate_limits
-- Every foreign key gets an index on its referencing columns (issue 17). Deleting or re-keying a
-- referenced row makes PostgreSQL look for referencing rows; without an index that is a full
-- scan of the referencing table per deleted row, so reloading a province-sized county (25,000
-- villages: tile_cut.code → admin_unit, warehouse.manager_id → person, …) ran for more than ten
-- minutes. tests/reliability/test_fk_indexes.py checks the catalogue: a foreign key added later
-- without its index fails the suite.

-- Rows of a dataset (a reload deletes the dataset's rows by dataset_id).
CREATE INDEX admin_unit_dataset_idx ON admin_unit (dataset_id);
CREATE INDEX facility_dataset_idx ON facility (dataset_id);
CREATE INDEX person_dataset_idx ON person (dataset_id);
CREATE INDEX station_dataset_idx ON station (dataset_id);
CREATE INDEX river_dataset_idx ON river (dataset_id);
CREATE INDEX dike_dataset_idx ON dike (dataset_id);
CREATE INDEX raster_layer_dataset_idx ON raster_layer (dataset_id);
CREATE INDEX flash_flood_threshold_dataset_idx ON flash_flood_threshold (dataset_id);
CREATE INDEX rain_threshold_default_dataset_idx ON rain_threshold_default (dataset_id);
CREATE INDEX hazard_point_dataset_idx ON hazard_point (dataset_id);
CREATE INDEX warehouse_dataset_idx ON warehouse (dataset_id);
CREATE INDEX shelter_dataset_idx ON shelter (dataset_id);
CREATE INDEX rescue_team_dataset_idx ON rescue_team (dataset_id);
CREATE INDEX expert_dataset_idx ON expert (dataset_id);
CREATE INDEX vehicle_dataset_idx ON vehicle (dataset_id);
CREATE INDEX broadcast_terminal_dataset_idx ON broadcast_terminal (dataset_id);
CREATE INDEX hazardous_site_dataset_idx ON hazardous_site (dataset_id);
CREATE INDEX sensor_dataset_idx ON sensor (dataset_id);
CREATE INDEX duty_shift_dataset_idx ON duty_shift (dataset_id);

-- References to administrative units.
CREATE INDEX warehouse_admin_idx ON warehouse (admin_code);
CREATE INDEX shelter_admin_idx ON shelter (admin_code);
CREATE INDEX rescue_team_admin_idx ON rescue_team (admin_code);
CREATE INDEX hazardous_site_admin_idx ON hazardous_site (admin_code);
CREATE INDEX fire_danger_area_idx ON fire_danger (area_code);
CREATE INDEX tile_admin_unit_code_idx ON tile_admin_unit (code);  -- partitioned: every zoom band
CREATE INDEX tile_cut_code_idx ON tile_cut (code);
CREATE INDEX drill_county_idx ON drill (county_code);

-- References to people.
CREATE INDEX hazard_point_responsible_idx ON hazard_point (responsible_id);
CREATE INDEX hazard_point_monitor_idx ON hazard_point (monitor_id);
CREATE INDEX warehouse_manager_idx ON warehouse (manager_id);
CREATE INDEX shelter_manager_idx ON shelter (manager_id);
CREATE INDEX rescue_team_leader_idx ON rescue_team (leader_id);
CREATE INDEX team_member_person_idx ON team_member (person_id);
CREATE INDEX hazardous_site_contact_idx ON hazardous_site (safety_contact_id);
CREATE INDEX response_task_person_idx ON response_task (person_id);
CREATE INDEX field_report_reporter_idx ON field_report (reporter);
CREATE INDEX field_report_verifier_idx ON field_report (verifier);

-- References between resources and duties.
CREATE INDEX duty_dike_idx ON duty (dike_id);
CREATE INDEX duty_hazard_point_idx ON duty (hazard_point_id);
CREATE INDEX duty_shelter_idx ON duty (shelter_id);
CREATE INDEX duty_site_idx ON duty (site_id);
CREATE INDEX sensor_hazard_point_idx ON sensor (hazard_point_id);
CREATE INDEX sensor_site_idx ON sensor (site_id);
CREATE INDEX vehicle_warehouse_idx ON vehicle (warehouse_id);
CREATE INDEX vehicle_team_idx ON vehicle (team_id);
CREATE INDEX duty_handover_corrects_idx ON duty_handover (corrects);
CREATE INDEX response_event_proposal_idx ON response_event (proposal_id);
CREATE INDEX response_event_task_idx ON response_event (task_id);

-- Provenance (forgetting an ingest deletes its log row; its data rows are found by ingest_id).
CREATE INDEX village_rain_row_ingest_idx ON village_rain_row (ingest_id);
CREATE INDEX village_rain_grid_ingest_idx ON village_rain_grid (ingest_id);
CREATE INDEX grid_file_ingest_idx ON grid_file (ingest_id);
CREATE INDEX sensor_obs_ingest_idx ON sensor_obs (ingest_id);
CREATE INDEX geohazard_risk_area_ingest_idx ON geohazard_risk_area (ingest_id);
CREATE INDEX hotspot_ingest_idx ON hotspot (ingest_id);
CREATE INDEX fire_danger_ingest_idx ON fire_danger (ingest_id);
CREATE INDEX earthquake_ingest_idx ON earthquake (ingest_id);
CREATE INDEX cap_feed_entry_ingest_idx ON cap_feed_entry (ingest_id);
CREATE INDEX cap_feed_entry_alert_idx ON cap_feed_entry (alert_id);
CREATE INDEX cap_alert_superseded_idx ON cap_alert (superseded_by);
CREATE INDEX village_set_member_set_idx ON village_set_member (set_id);

-- Keys whose only index was partial (another predicate than "the key is set") or not a b-tree.
CREATE INDEX duty_shift_org_idx ON duty_shift (org_code);
CREATE INDEX duty_shift_person_idx ON duty_shift (person_id);
CREATE INDEX response_proposal_response_idx ON response_proposal (response_id);
