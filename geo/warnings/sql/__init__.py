"""Static SQL of the warning lifecycle (loaded with geo.db.sqlfiles.load_sql)."""
