-- Demo only: forget every response of an earlier demo run (the timeline is append-only by
-- trigger; replica mode, superuser only, skips the guard for this transaction).
SET LOCAL session_replication_role = replica;
DELETE FROM outbox WHERE response_task_id IS NOT NULL;
DELETE FROM response_event;
DELETE FROM response_task;
DELETE FROM response_proposal;
DELETE FROM response;
