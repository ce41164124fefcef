-- depends: 0001_extensions_and_provenance
-- Administrative units: province → city → county (GB/T 2260, 6 digits) → township (9) → village (12).

CREATE TABLE admin_unit (
    code         text PRIMARY KEY,
    level        text NOT NULL CHECK (level IN ('province', 'city', 'county', 'township', 'village')),
    parent_code  text REFERENCES admin_unit (code) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) > 0),
    name_en      text,
    kind         text CHECK (kind IN ('village', 'community', 'town', 'township', 'subdistrict',
                                      'county', 'district', 'county_city', 'city', 'province')),
    gb2260       char(6) NOT NULL,           -- the county-level GB/T 2260 code the unit lies in
    stat_code    char(12) NOT NULL,          -- the statistics bureau's 12-digit code
    urban_rural  char(3) CHECK (urban_rural ~ '^(1[12][1-3]|2[12]0)$'),  -- 城乡分类代码 111…220
    code_year    smallint NOT NULL DEFAULT 2023 CHECK (code_year BETWEEN 1980 AND 2100),
    population   integer CHECK (population >= 0),
    households   integer CHECK (households >= 0),
    schools      smallint NOT NULL DEFAULT 0 CHECK (schools >= 0),
    clinics      smallint NOT NULL DEFAULT 0 CHECK (clinics >= 0),
    area_km2     double precision CHECK (area_km2 > 0),
    dataset_id   text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom         geometry(MultiPolygon, 4326) NOT NULL,
    label_point  geometry(Point, 4326) GENERATED ALWAYS AS (ST_PointOnSurface(geom)) STORED,
    CONSTRAINT admin_code_form CHECK (
        (level = 'province' AND code ~ '^[1-9]\d0000$')
        OR (level = 'city' AND code ~ '^[1-9]\d{3}00$')
        OR (level = 'county' AND code ~ '^[1-9]\d{5}$')
        OR (level = 'township' AND code ~ '^[1-9]\d{8}$')
        OR (level = 'village' AND code ~ '^[1-9]\d{11}$')),
    CONSTRAINT admin_gb2260_matches CHECK (level IN ('province', 'city') OR gb2260 = left(code, 6)),
    CONSTRAINT admin_stat_code_matches CHECK (stat_code = rpad(code, 12, '0')),
    CONSTRAINT admin_households_le_population CHECK (households <= population),
    CONSTRAINT admin_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT admin_province_has_no_parent CHECK ((level = 'province') = (parent_code IS NULL))
);
CREATE INDEX admin_unit_geom_idx ON admin_unit USING gist (geom);
CREATE INDEX admin_unit_label_idx ON admin_unit USING gist (label_point);
CREATE INDEX admin_unit_parent_idx ON admin_unit (parent_code);
CREATE INDEX admin_unit_level_idx ON admin_unit (level, gb2260);
COMMENT ON TABLE admin_unit IS 'Province, city, county (GB/T 2260), township and village (12-digit) units';

-- A child must sit one or more levels below its parent and carry the parent's code prefix:
-- a village 431226101201 can only belong to township 431226101. CHECK cannot see other rows.
CREATE FUNCTION admin_unit_check_parent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent admin_unit%ROWTYPE;
    rank_of CONSTANT jsonb := '{"province": 1, "city": 2, "county": 3, "township": 4, "village": 5}';
    digits_of CONSTANT jsonb := '{"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}';
    n integer;
BEGIN
    IF NEW.parent_code IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT * INTO parent FROM admin_unit WHERE code = NEW.parent_code;
    IF NOT FOUND THEN
        RETURN NEW;  -- the foreign key reports the missing parent
    END IF;
    IF (rank_of ->> parent.level)::int >= (rank_of ->> NEW.level)::int THEN
        RAISE EXCEPTION 'admin_unit %: a % cannot have the % % as parent',
            NEW.code, NEW.level, parent.level, parent.code
            USING ERRCODE = 'check_violation', COLUMN = 'parent_code';
    END IF;
    n := (digits_of ->> parent.level)::int;
    IF left(NEW.code, n) <> left(parent.code, n) THEN
        RAISE EXCEPTION 'admin_unit %: code is outside its parent % % (must start with %)',
            NEW.code, parent.level, parent.code, left(parent.code, n)
            USING ERRCODE = 'check_violation', COLUMN = 'code';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER admin_unit_parent_check
    BEFORE INSERT OR UPDATE OF code, parent_code, level ON admin_unit
    FOR EACH ROW EXECUTE FUNCTION admin_unit_check_parent();

CREATE VIEW village AS
    SELECT code, parent_code AS township_code, gb2260 AS county_code, name, name_en, kind,
           stat_code, urban_rural, population, households, schools, clinics, area_km2,
           dataset_id, geom, label_point
    FROM admin_unit WHERE level = 'village';

-- Schools, clinics and other places where vulnerable people gather (exposure, impact summaries).
CREATE TABLE facility (
    id           text PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('school', 'kindergarten', 'clinic', 'hospital',
                                                'nursing_home', 'market')),
    name         text NOT NULL,
    village_code text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    occupants    integer CHECK (occupants >= 0),
    dataset_id   text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom         geometry(Point, 4326) NOT NULL
);
CREATE INDEX facility_geom_idx ON facility USING gist (geom);
CREATE INDEX facility_village_idx ON facility (village_code);
