-- When the feed last changed at `at`: the latest published message (an Update, Cancel or
-- all-clear changes or removes an entry) or the latest expiry that took an entry out of it.
SELECT greatest(
    (SELECT max(cap_sent) FROM warning_version WHERE state = 'published' AND cap_sent <= %(at)s),
    (SELECT max(expires_at) FROM warning
     WHERE published_version IS NOT NULL AND expires_at <= %(at)s)
) AS updated;
