SELECT id, at, kind, actor, level_from, level_to, task_id, proposal_id, reason, details
FROM response_event WHERE response_id = %(id)s ORDER BY id;
