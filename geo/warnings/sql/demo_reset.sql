-- Demo only: forget every warning of an earlier demo run. The audit log and published versions
-- are append-only by trigger; replica mode (superuser) skips those triggers for this transaction.
SET LOCAL session_replication_role = replica;
DELETE FROM delivery_attempt;
DELETE FROM sms_receipt;
DELETE FROM outbox;
DELETE FROM ws_notice;  -- work-safety notices (their SMS were in the outbox)
DELETE FROM warning_village;
DELETE FROM warning_audit;
DELETE FROM warning_version;
DELETE FROM warning;
