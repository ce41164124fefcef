-- A newly taken message.
INSERT INTO journal (key, idempotency_key, broadcast_id, warning_id, version, msg_type,
                     village_code, terminal_id, protocol, key_id, text, ack_url, outcome,
                     received_at, played_at)
VALUES (:key, :idempotency_key, :broadcast_id, :warning_id, :version, :msg_type,
        :village_code, :terminal_id, :protocol, :key_id, :text, :ack_url, :outcome,
        :received_at, :played_at)
RETURNING *;
