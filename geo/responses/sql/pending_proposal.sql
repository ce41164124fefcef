-- The proposal waiting for a commander (at most one per response), locked.
SELECT * FROM response_proposal WHERE response_id = %(id)s AND status = 'pending' FOR UPDATE;
