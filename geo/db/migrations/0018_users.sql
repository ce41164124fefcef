-- depends: 0017_faster_rain_windows
-- People and machines allowed to use the service, each with one role, and their bearer tokens.
-- Tokens are 256-bit random strings shown once; only their SHA-256 is stored (a slow password
-- hash buys nothing for secrets of that strength and would cost every request).

CREATE TABLE app_user (
    name          text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.@-]{2,64}$'),
    role          text NOT NULL CHECK (role IN ('viewer', 'reporter', 'forecaster', 'commander',
                                                'admin', 'integration')),
    display_name  text,
    phone         text,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE app_user IS 'Users of the API: forecasters, commanders, reporters, machines';

CREATE TABLE api_token (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name     text NOT NULL REFERENCES app_user (name) ON UPDATE CASCADE,
    token_sha256  bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    label         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE INDEX api_token_user_idx ON api_token (user_name);
COMMENT ON TABLE api_token IS 'Bearer tokens, stored as SHA-256 only';
