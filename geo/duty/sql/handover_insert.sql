-- A new hand-over note (append-only: corrections are new notes naming the one they correct).
INSERT INTO duty_handover (org_code, shift_change, from_person_id, to_person_id, from_name,
                           to_name, text, open_items, corrects, author)
VALUES (%(org_code)s, %(shift_change)s, %(from_person_id)s, %(to_person_id)s, %(from_name)s,
        %(to_name)s, %(text)s, %(open_items)s, %(corrects)s, %(author)s)
RETURNING id;
