UPDATE warning_version SET state = 'discarded'
WHERE warning_id = %(id)s AND version = %(version)s AND state = 'draft';
