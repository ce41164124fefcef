-- Settle a pending proposal: accepted, dismissed or superseded.
UPDATE response_proposal
SET status = %(status)s, decided_by = %(actor)s, decided_at = %(at)s, reason = %(reason)s
WHERE id = %(id)s AND status = 'pending'
RETURNING *;
