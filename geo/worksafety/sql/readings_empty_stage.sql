TRUNCATE ws_reading_stage;
