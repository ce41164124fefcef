-- Extensions and the provenance of every dataset (real or synthetic) loaded into riskmap.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Every entity row points at the dataset it came from, so a demo county can be reloaded
-- (delete the dataset, cascade) and the API can say which figures are synthetic.
CREATE TABLE dataset (
    id           text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_.:-]{0,62}$'),
    title        text NOT NULL,
    synthetic    boolean NOT NULL,
    source       text NOT NULL,
    licence      text,
    attribution  text,
    params       jsonb NOT NULL DEFAULT '{}'::jsonb,
    loaded_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dataset IS 'Provenance of loaded data: real (e.g. boundaries) or synthetic (demo generator)';
