-- One consequence of a reload for loaded or reported data (migration 0039).
INSERT INTO dataset_reload_change (reload_id, n, change, table_name, key, rows, reason, details)
VALUES (%(reload_id)s, %(n)s, %(change)s, %(table_name)s, %(key)s, %(rows)s, %(reason)s,
        %(details)s);
