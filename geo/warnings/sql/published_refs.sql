-- sender, identifier and sent of every published version, oldest first (CAP references).
SELECT cap_sender, cap_identifier, cap_sent FROM warning_version
WHERE warning_id = %(id)s AND state = 'published' ORDER BY version;
