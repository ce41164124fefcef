-- Whether a client resuming after this id missed events too old to replay (it must reload).
SELECT EXISTS (
    SELECT 1 FROM event_log
    WHERE pos > %(after)s
      AND at <= now() - make_interval(hours => %(hours)s)
      AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[]))
      AND (public OR NOT %(public_only)s)
);
