-- depends: 0019_tiles 0022_perf
-- Every token check notes its use (api_token.last_used_at, at most once a minute per token) in
-- an UPDATE that usually touches no row; the statement trigger of 0019 fired for it all the same
-- and emptied the API workers' cached token checks on every tile request. Only changes that can
-- alter a check (new, removed, revoked or expired tokens; users) announce themselves now.
DROP TRIGGER api_token_tiles_notify ON api_token;
CREATE TRIGGER api_token_tiles_notify AFTER INSERT OR DELETE OR TRUNCATE ON api_token
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tokens');
CREATE TRIGGER api_token_tiles_notify_update
    AFTER UPDATE OF user_name, token_sha256, expires_at, revoked_at ON api_token
    FOR EACH STATEMENT EXECUTE FUNCTION tile_notify('tokens');
