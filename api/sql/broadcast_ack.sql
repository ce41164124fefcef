-- A terminal's acknowledgement. "played" wins over anything (the row may still be pending if the
-- dispatcher that delivered it died before recording it: the terminal's word is the truth, and
-- the dispatcher will not send it again); "failed" only marks a row not yet acknowledged.
UPDATE outbox SET
    status = CASE WHEN %(played)s THEN 'acked'
                  WHEN status = 'acked' THEN 'acked' ELSE 'failed' END,
    acked_at = CASE WHEN %(played)s THEN coalesce(acked_at, %(at)s) ELSE acked_at END,
    sent_at = coalesce(sent_at, %(at)s),
    -- a "failed" arriving after the play (late, or a captured one replayed) leaves the
    -- acknowledged row as it was: its play-out record and no error
    ack = CASE WHEN %(played)s OR status <> 'acked' THEN %(ack)s ELSE ack END,
    last_error = CASE WHEN %(played)s OR status = 'acked' THEN last_error
                      ELSE 'the terminal could not play it' END
WHERE id = %(id)s AND channel = 'broadcast'
RETURNING status;
