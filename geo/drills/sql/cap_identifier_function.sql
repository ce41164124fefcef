-- Created in a drill's schema, on its twin of warning_version (geo/drills/twin.py): the CAP
-- identifier of a drill message carries the drill mark TG_ARGV[0] in the sender's two spare
-- digits (riskmap.geo.warnings.cap.DRILL_SPARE; real messages have 00), so no drill message can
-- have a real message's identifier, even one sent in the same second with the same serial. The
-- serial is chosen again among the drill's own identifiers (the publishing code chose it among
-- those with the real mark, which the drill never holds); when the nine serials of a second are
-- taken the message moves to the next second, as a real one does.
CREATE FUNCTION drill_cap_identifier() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prefix text := left(NEW.cap_identifier, 12) || TG_ARGV[0];
    sent timestamptz := date_trunc('second', NEW.cap_sent);
    candidate text;
    taken boolean;
BEGIN
    LOOP
        FOR serial IN 1..9 LOOP
            candidate := prefix || '_'
                || to_char(sent AT TIME ZONE 'UTC' + interval '8 hours', 'YYYYMMDDHH24MISS')
                || '_' || serial;
            EXECUTE format(
                'SELECT EXISTS (SELECT FROM %I.warning_version WHERE cap_identifier = $1)',
                TG_TABLE_SCHEMA
            ) INTO taken USING candidate;
            IF NOT taken THEN
                NEW.cap_identifier := candidate;
                NEW.cap_sent := sent;
                NEW.effective := greatest(NEW.effective, sent);
                RETURN NEW;
            END IF;
        END LOOP;
        sent := sent + interval '1 second';
    END LOOP;
END;
$$;
