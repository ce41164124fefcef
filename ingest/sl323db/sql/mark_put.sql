-- Move a source's mark on a remote table forward (never back: a page of late rows with older
-- times leaves it where it is). Runs in the transaction that stores the page's rows.
INSERT INTO sl323_db_mark (source, sl323_table, tm)
VALUES (%(source)s, %(table)s, %(tm)s)
ON CONFLICT (source, sl323_table) DO UPDATE
SET tm = GREATEST(sl323_db_mark.tm, EXCLUDED.tm), updated_at = now();
