-- The villages' version as villages.sql reads it (migrations 0022 and 0055), alone: whether the
-- villages kept in memory are still the database's.
SELECT token || '/' || names_token FROM village_version
