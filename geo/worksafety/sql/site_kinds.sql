-- The kind of each named hazardous site (missing ids simply do not come back).
SELECT id, kind FROM hazardous_site WHERE id = ANY(%(ids)s);
