-- The sender confirmed our ack.
UPDATE journal SET acked_at = :at, ack_error = NULL WHERE id = :id;
