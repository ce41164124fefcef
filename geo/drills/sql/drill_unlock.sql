SELECT pg_advisory_unlock(%(space)s::int, %(id)s::int);
