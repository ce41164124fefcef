-- When the feed last changed: the latest published message (an Update, Cancel or all-clear
-- removes or changes an entry, so it moves the feed's <updated> too).
SELECT max(cap_sent) AS updated FROM warning_version WHERE state = 'published';
