-- depends: 0031_delivery
-- Areas of responsibility (issue 12): a city bureau (市应急管理局) and its county bureaus
-- (县应急管理局) work in one installation, each user bound to the administrative area it answers
-- for, and a warning says which bureau issues it.
--
-- app_user.area_code: the GB/T 2260 code of the user's area, a city (430400: every county whose
-- code starts with 4304) or a county (431226); NULL is the whole installation, which existing
-- users keep, so nothing changes for them. The API filters by the code prefix (api/areas.py).
--
-- warning.issuer_code: the bureau that issues the warning, a city or a county code; its CAP
-- sender and identifier carry this code (GB/T 35965.1). NULL: the one county its villages lie
-- in (every rule-made warning), as before.
--
-- event_log payloads about a warning or a village get "counties" (the county codes they concern)
-- so that live-event clients bound to an area receive only their area's events: warnings (every
-- county any version of the warning covered), delivery and coverage events of those warnings,
-- field reports (their village's county).

ALTER TABLE app_user
    ADD COLUMN area_code text
        CONSTRAINT app_user_area_form CHECK (area_code ~ '^[1-9]\d{5}$' AND area_code !~ '0000$');
COMMENT ON COLUMN app_user.area_code IS
    'GB/T 2260 code of the area the user answers for: a city (…00) or a county; NULL = all';

ALTER TABLE warning
    ADD COLUMN issuer_code text
        CONSTRAINT warning_issuer_form CHECK (issuer_code ~ '^[1-9]\d{5}$' AND issuer_code !~ '0000$');
COMMENT ON COLUMN warning.issuer_code IS
    'GB/T 2260 code of the issuing bureau (city or county); NULL = the county of its villages';

CREATE FUNCTION event_log_counties() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.payload ? 'counties' THEN
        RETURN NEW;
    END IF;
    IF NEW.payload ? 'warning_id' AND NEW.payload ->> 'warning_id' ~ '^\d{1,18}$' THEN
        NEW.payload := NEW.payload || jsonb_build_object('counties', (
            SELECT coalesce(jsonb_agg(DISTINCT left(c, 6)), '[]'::jsonb)
            FROM warning_version v CROSS JOIN LATERAL unnest(v.village_codes) c
            WHERE v.warning_id = (NEW.payload ->> 'warning_id')::bigint));
    ELSIF NEW.payload ->> 'village_code' ~ '^\d{12}$' THEN
        NEW.payload := NEW.payload || jsonb_build_object(
            'counties', jsonb_build_array(left(NEW.payload ->> 'village_code', 6)));
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER event_log_counties BEFORE INSERT ON event_log
    FOR EACH ROW EXECUTE FUNCTION event_log_counties();
