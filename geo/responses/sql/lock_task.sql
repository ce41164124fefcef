SELECT t.*, r.status AS response_status
FROM response_task t JOIN response r ON r.id = t.response_id
WHERE t.id = %(task_id)s AND t.response_id = %(id)s
FOR UPDATE OF t;
