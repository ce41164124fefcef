-- Broadcasts sent but not yet confirmed by their loudspeaker (read in the drill schema).
SELECT count(*) FROM outbox WHERE channel = 'broadcast' AND status = 'sent';
