-- Journal rows after an id, oldest first.
SELECT * FROM journal WHERE id > :since ORDER BY id LIMIT :limit;
