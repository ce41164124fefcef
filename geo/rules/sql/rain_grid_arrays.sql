-- Village means and coverages of one grid row (float8 arrays in its village_set's order).
SELECT g.mean_mm, g.coverage FROM village_rain_grid g WHERE g.id = %(id)s;
