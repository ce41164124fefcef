DELETE FROM village_risk WHERE village_code = ANY(%(codes)s);
