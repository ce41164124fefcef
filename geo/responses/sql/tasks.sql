-- A response's tasks in the order they are due; overdue: past the deadline and not done.
SELECT t.id, t.level, t.seq, t.who, t.office_code, o.name AS office_name, t.text_zh, t.text_en,
       t.person_id, t.person_name, t.phone, t.assigned_how, t.due_at, t.status, t.created_at,
       t.acked_at, t.acked_by, t.done_at, t.done_by, t.note, t.overdue_at,
       (t.status IN ('open', 'acknowledged') AND t.due_at < %(now)s) AS overdue,
       (SELECT x.status FROM outbox x WHERE x.response_task_id = t.id
        ORDER BY x.id DESC LIMIT 1) AS sms_status
FROM response_task t
LEFT JOIN admin_unit o ON o.code = t.office_code
WHERE t.response_id = %(id)s
ORDER BY t.due_at, t.level DESC, t.seq, t.office_code;
