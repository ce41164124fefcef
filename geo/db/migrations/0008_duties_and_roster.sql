-- depends: 0007_broadcast_and_sites
-- Who is responsible for what (reservoir 三个责任人, dike 责任人, 网格员, 灾害信息员, village cadres,
-- hazard-point monitors, site safety contacts) and the 24-hour duty roster (值班表).

CREATE TABLE duty (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id       text NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('reservoir_administrative',
                      'reservoir_technical', 'reservoir_patrol', 'dike', 'grid_officer',
                      'disaster_info_officer', 'village_cadre', 'township_leader',
                      'hazard_monitor', 'hazard_responsible', 'site_safety', 'shelter_manager')),
    admin_code      text REFERENCES admin_unit (code) ON DELETE CASCADE,
    stcd            varchar(8) REFERENCES station (stcd) ON DELETE CASCADE,
    dike_id         text REFERENCES dike (id) ON DELETE CASCADE,
    hazard_point_id text REFERENCES hazard_point (id) ON DELETE CASCADE,
    site_id         text REFERENCES hazardous_site (id) ON DELETE CASCADE,
    shelter_id      text REFERENCES shelter (id) ON DELETE CASCADE,
    -- a duty concerns exactly one thing, and the kind of thing matches the role
    CHECK (num_nonnulls(admin_code, stcd, dike_id, hazard_point_id, site_id, shelter_id) = 1),
    CHECK ((role LIKE 'reservoir_%') = (stcd IS NOT NULL)),
    CHECK ((role = 'dike') = (dike_id IS NOT NULL)),
    CHECK ((role LIKE 'hazard_%') = (hazard_point_id IS NOT NULL)),
    CHECK ((role = 'site_safety') = (site_id IS NOT NULL)),
    CHECK ((role = 'shelter_manager') = (shelter_id IS NOT NULL))
);
CREATE UNIQUE INDEX duty_unique_idx ON duty (person_id, role,
    coalesce(admin_code, stcd, dike_id, hazard_point_id, site_id, shelter_id));
CREATE INDEX duty_admin_idx ON duty (admin_code);
CREATE INDEX duty_stcd_idx ON duty (stcd);

-- Reservoirs must name their three responsible persons; this view shows the gaps.
CREATE VIEW reservoir_responsibility_gap AS
    SELECT r.stcd, s.stnm, roles.role
    FROM reservoir r
    JOIN station s USING (stcd)
    CROSS JOIN (VALUES ('reservoir_administrative'), ('reservoir_technical'),
                       ('reservoir_patrol')) AS roles (role)
    WHERE NOT EXISTS (SELECT 1 FROM duty d WHERE d.stcd = r.stcd AND d.role = roles.role);

CREATE TABLE duty_shift (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_code    text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,  -- county or township
    post        text NOT NULL CHECK (post IN ('leader', 'chief', 'officer')),  -- 带班领导 / 主班 / 值班员
    person_id   text NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    shift       tstzrange NOT NULL CHECK (NOT isempty(shift) AND lower(shift) IS NOT NULL
                                          AND upper(shift) IS NOT NULL),
    phone       text CHECK (phone ~ '^(1[3-9]\d{9}|0\d{2,3}-\d{7,8})$'),  -- duty-room line
    dataset_id  text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    -- one leader and one chief at a time per office; a person cannot hold two posts at once
    EXCLUDE USING gist (org_code WITH =, post WITH =, shift WITH &&) WHERE (post IN ('leader', 'chief')),
    EXCLUDE USING gist (person_id WITH =, shift WITH &&)
);
CREATE INDEX duty_shift_when_idx ON duty_shift USING gist (shift);

CREATE VIEW on_duty_now AS
    SELECT ds.org_code, ds.post, p.name, coalesce(ds.phone, p.phone) AS phone, ds.shift
    FROM duty_shift ds JOIN person p ON p.id = ds.person_id
    WHERE ds.shift @> now();
