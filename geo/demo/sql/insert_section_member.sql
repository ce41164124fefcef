-- A supervising section's (监管股室) staff member of the demo county's bureau.
INSERT INTO ws_section_member (county_code, section, person_id)
VALUES (%(county)s, %(section)s, %(person)s)
ON CONFLICT DO NOTHING;
