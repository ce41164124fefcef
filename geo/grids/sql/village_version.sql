-- The villages' version (a token replaced by a trigger whenever admin_unit codes, levels or
-- geometries change, see migration 0022): cached zonal weights are keyed by it.
SELECT token FROM village_version;
