-- The SMS that tells a task's assignee (mobile phones only; a landline gets none): an outbox
-- row of the task, delivered by the dispatcher; the key makes a repeat a no-op.
INSERT INTO outbox (warning_id, version, response_task_id, channel, target, payload,
                    idempotency_key)
SELECT NULL, NULL, t.id, 'sms', t.phone,
       %(payload)s::jsonb || jsonb_build_object('phone', t.phone, 'person_id', t.person_id,
                                                'name', t.person_name),
       'response:' || t.response_id || ':task:' || t.id || ':sms'
FROM response_task t
WHERE t.id = %(task_id)s AND t.phone ~ '^1[3-9][0-9]{9}$'
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id;
