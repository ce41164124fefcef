-- Publish a draft: it gets its CAP identifier, sender, sent time and references. A CAP message
-- never takes effect before it is sent, so `effective` moves up to `sent` (sent ≤ effective);
-- the table's CHECK (expires > effective) refuses a draft whose time ran out.
UPDATE warning_version
SET state = 'published', cap_identifier = %(identifier)s, cap_sender = %(sender)s,
    cap_sent = %(sent)s, references_text = %(references)s, published_at = now(),
    effective = greatest(effective, %(sent)s)
WHERE warning_id = %(id)s AND version = %(version)s AND state = 'draft'
RETURNING *;
