-- depends: 0045_sl323_db_mark
-- Issue 19: per-village annual maxima of 1, 3, 6, 12 and 24 h rainfall sums, computed from an
-- archive of hourly grids by `riskmap archive stats` (geo/archive). One row per archive run's
-- source label, village, duration and year; the frequency analysis (geo/frequency) fits
-- extreme-value distributions to each village's series of yearly maxima.

CREATE TABLE village_rain_annual_max (
    source        text NOT NULL CHECK (source <> ''),           -- the archive's label
    village_code  text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    duration_h    smallint NOT NULL CHECK (duration_h IN (1, 3, 6, 12, 24)),
    year          smallint NOT NULL CHECK (year BETWEEN 1900 AND 2200),
    max_mm        double precision NOT NULL CHECK (max_mm >= 0),
    ends_at       timestamptz,      -- end of the window that reached the maximum (UTC)
    hours         integer NOT NULL CHECK (hours >= 0),  -- hours of data in that year
    complete      boolean NOT NULL, -- the year is covered well enough to count in a fit
    computed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, village_code, duration_h, year)
);

CREATE INDEX village_rain_annual_max_village ON village_rain_annual_max (village_code, duration_h);
