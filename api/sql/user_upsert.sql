-- Add a user or change one; an existing user keeps its area unless one was given (set_area).
INSERT INTO app_user (name, role, display_name, phone, area_code)
VALUES (%(name)s, %(role)s, %(display_name)s, %(phone)s, %(area)s)
ON CONFLICT (name) DO UPDATE
SET role = EXCLUDED.role,
    display_name = COALESCE(EXCLUDED.display_name, app_user.display_name),
    phone = COALESCE(EXCLUDED.phone, app_user.phone),
    area_code = CASE WHEN %(set_area)s THEN EXCLUDED.area_code ELSE app_user.area_code END,
    active = true;
