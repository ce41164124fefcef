UPDATE warning_version
SET state = 'published', cap_identifier = %(identifier)s, cap_sender = %(sender)s,
    cap_sent = %(sent)s, references_text = %(references)s, published_at = now()
WHERE warning_id = %(id)s AND version = %(version)s AND state = 'draft'
RETURNING *;
