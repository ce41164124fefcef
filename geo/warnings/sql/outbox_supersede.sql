-- A newly published version replaces the undelivered messages of older versions to the same
-- targets (a stale alert must not play after its update or cancel). Rows a dispatcher is
-- delivering right now are skipped; the dispatcher supersedes them itself if they fail.
UPDATE outbox o SET status = 'superseded',
       last_error = 'version ' || %(version)s || ' replaced it before delivery'
WHERE o.id IN (
    SELECT old.id FROM outbox old
    JOIN outbox new ON new.warning_id = old.warning_id AND new.channel = old.channel
                   AND new.target = old.target AND new.version = %(version)s
    WHERE old.warning_id = %(warning_id)s AND old.version < %(version)s
      AND old.status = 'pending'
    FOR UPDATE OF old SKIP LOCKED
);
