-- Whether a caller whose area has the code prefix %(area)s may see the warning (one of its
-- villages lies in the area) and act on it (all of its villages do, and its issuing bureau is
-- the area's or one within it: a county may not change its city's warning).
SELECT EXISTS (SELECT FROM unnest(w.village_codes) c WHERE c LIKE %(area)s || '%%') AS seen,
       NOT EXISTS (SELECT FROM unnest(w.village_codes) c WHERE c NOT LIKE %(area)s || '%%')
       AND (w.issuer_code IS NULL OR w.issuer_code LIKE %(area)s || '%%') AS owned
FROM warning w
WHERE w.id = %(id)s;
