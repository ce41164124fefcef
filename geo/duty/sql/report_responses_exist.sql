-- Whether the emergency-response tables (response, response_task) exist in this database.
SELECT to_regclass('response') IS NOT NULL AND to_regclass('response_task') IS NOT NULL AS present;
