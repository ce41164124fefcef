-- Targets 'reference': every loudspeaker of the drill speaks to the reference receiver (its twin
-- of broadcast_terminal only; the real terminals keep their endpoints).
UPDATE broadcast_terminal
SET endpoint = %(receiver)s || '/broadcast/' || village_code,
    protocol = CASE WHEN protocol = 'ebm-xml' THEN 'ebm-xml' ELSE 'http-json' END;
