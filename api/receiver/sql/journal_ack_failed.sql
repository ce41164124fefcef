-- The ack could not be delivered (given up for now; retried at the next start or repeat).
UPDATE journal SET ack_error = :error WHERE id = :id;
