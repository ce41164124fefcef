-- Response start proposals the drill's commander has not decided yet (read in the drill schema).
SELECT p.id, p.response_id, p.at
FROM response_proposal p JOIN response r ON r.id = p.response_id
WHERE p.status = 'pending' AND p.kind = 'start' AND p.at <= %(at)s
ORDER BY p.at, p.id;
