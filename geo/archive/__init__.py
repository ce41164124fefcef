"""Archives of hourly rain grids: synthetic ones to test with, and per-village annual maxima of
1–24 h rainfall computed from them on Dask (issue 19)."""
