-- The tasks of the responses the drill started, with their deadlines (scenario clock).
SELECT t.id, t.response_id, r.plan_id, r.level AS response_level, t.seq, t.who, t.office_code,
       t.text_zh, t.text_en, t.person_name, t.assigned_how, t.due_at, t.status, t.done_at,
       t.acked_at, t.overdue_at
FROM response_task t JOIN response r ON r.id = t.response_id
WHERE t.status <> 'cancelled'
ORDER BY t.due_at, t.id;
