-- One timeline row (the trigger of migration 0033 announces it as a 'response' live event).
INSERT INTO response_event (response_id, at, kind, actor, level_from, level_to, task_id,
                            proposal_id, reason, details)
VALUES (%(response_id)s, %(at)s, %(kind)s, %(actor)s, %(level_from)s, %(level_to)s,
        %(task_id)s, %(proposal_id)s, %(reason)s, %(details)s)
RETURNING id;
