INSERT INTO response_task (response_id, level, seq, who, office_code, text_zh, text_en,
                           person_id, person_name, phone, assigned_how, due_at, created_at)
VALUES (%(response_id)s, %(level)s, %(seq)s, %(who)s, %(office)s, %(text_zh)s, %(text_en)s,
        %(person_id)s, %(person_name)s, %(phone)s, %(how)s, %(due_at)s, %(at)s)
ON CONFLICT (response_id, level, seq, office_code) DO NOTHING
RETURNING *;
