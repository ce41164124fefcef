-- The hazards and rule ids of stored warnings: values the list filters accept beside those of
-- the rules the service runs (a rule removed since still has its warnings).
SELECT coalesce(array_agg(DISTINCT hazard), '{}') AS hazards,
       coalesce(array_agg(DISTINCT rule_id), '{}') AS rules
FROM warning;
