-- The village order of a grid definition's zonal weights (written once per weights version);
-- village_rain_grid arrays follow it.
INSERT INTO village_set (id, codes) VALUES (%(id)s, %(codes)s::text[])
ON CONFLICT (id) DO NOTHING;
