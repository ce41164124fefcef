INSERT INTO app_user (name, role, display_name, phone)
VALUES (%(name)s, %(role)s, %(display_name)s, %(phone)s)
ON CONFLICT (name) DO UPDATE
SET role = EXCLUDED.role,
    display_name = COALESCE(EXCLUDED.display_name, app_user.display_name),
    phone = COALESCE(EXCLUDED.phone, app_user.phone),
    active = true;
