-- A reload's record (migration 0039); its counts are filled in when it is done.
INSERT INTO dataset_reload (dataset_id) VALUES (%(dataset_id)s) RETURNING id;
