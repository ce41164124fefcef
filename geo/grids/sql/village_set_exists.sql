-- Whether a village order is stored already.
SELECT EXISTS (SELECT 1 FROM village_set WHERE id = %(id)s);
