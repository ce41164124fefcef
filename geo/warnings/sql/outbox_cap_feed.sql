INSERT INTO outbox (warning_id, version, channel, target, payload, idempotency_key)
VALUES (%(warning_id)s, %(version)s, 'cap-feed', 'cap-feed', %(payload)s,
        %(key)s || ':cap-feed:cap-feed')
ON CONFLICT (idempotency_key) DO NOTHING;
