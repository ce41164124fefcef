-- Free the HJ 212 codes of the points being reloaded, so two points may swap MN/factor.
UPDATE ws_point SET mn = NULL, factor = NULL WHERE id = ANY(%(ids)s) OR site_id = ANY(%(sites)s);
