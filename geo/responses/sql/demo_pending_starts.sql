-- Demo: pending start proposals of the given plans made by %(at)s.
SELECT p.id, p.response_id, p.at
FROM response_proposal p JOIN response r ON r.id = p.response_id
WHERE p.status = 'pending' AND p.kind = 'start' AND r.plan_id = ANY (%(plans)s::text[])
  AND p.at <= %(at)s
ORDER BY p.id;
