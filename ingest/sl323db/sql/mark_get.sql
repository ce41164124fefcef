-- Where the last poll of a source's remote table got to (its latest TM, the remote's own time).
SELECT tm
FROM sl323_db_mark
WHERE source = %(source)s AND sl323_table = %(table)s;
