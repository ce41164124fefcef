-- depends: 0018_users
-- Passwords for people who sign in to the web console (POST /api/session). Only an argon2id
-- hash in PHC form is kept ($argon2id$v=19$m=…,t=…,p=…$salt$hash), never the password; NULL
-- means the user has no password and cannot sign in (machines and scripts use bearer tokens).
-- The sign-in itself makes an ordinary api_token labelled 'session' with an expiry.

ALTER TABLE app_user
    ADD COLUMN password_hash text CHECK (password_hash LIKE '$argon2id$%');
COMMENT ON COLUMN app_user.password_hash IS
    'argon2id hash (PHC string) of the sign-in password; NULL: cannot sign in with a password';
