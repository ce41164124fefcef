-- The spoken text of one village broadcast (public: warning texts are public).
SELECT payload ->> 'text' AS text
FROM outbox WHERE id = %(id)s AND channel = 'broadcast';
