"""Feed ingestion: one module per feed kind through one pipeline into PostGIS."""
