-- One hit (or a look) against a moving-window limit shared by every instance (migration 0036).
SELECT allowed, retry_after_s
FROM rate_limit_hit(%(bucket)s, %(key)s, %(max)s, make_interval(secs => %(seconds)s), %(take)s);
