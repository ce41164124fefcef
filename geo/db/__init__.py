"""Database access: the embedded cluster, connections and migrations."""
