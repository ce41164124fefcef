-- Relief stock (per item), shelter capacity, rescue teams and experts per township (an expert
-- counts where they serve, person.admin_code; experts have no location). A resource belongs
-- to the township of its admin unit (a village's parent); county-level resources form their
-- own group, keyed by the county code. %(county)s (a GB/T 2260 county code, or the code prefix
-- of an area of responsibility such as a city's 4 digits; NULL = every county) limits it.
WITH unit AS (
    SELECT u.code,
           CASE u.level WHEN 'village' THEN u.parent_code ELSE u.code END AS grp,
           CASE u.level WHEN 'county' THEN 'county' ELSE 'township' END AS grp_level
    FROM admin_unit u
    WHERE u.level IN ('county', 'township', 'village')
      AND (%(county)s::text IS NULL OR u.gb2260 LIKE %(county)s || '%%')
),
stock_g AS (
    SELECT un.grp, s.item, s.item_name, s.unit, sum(s.quantity) AS quantity,
           count(*) FILTER (WHERE s.quantity > 0) AS warehouses
    FROM stock s JOIN warehouse w ON w.id = s.warehouse_id JOIN unit un ON un.code = w.admin_code
    GROUP BY un.grp, s.item, s.item_name, s.unit
),
wh_g AS (
    SELECT un.grp, count(*) AS n
    FROM warehouse w JOIN unit un ON un.code = w.admin_code GROUP BY un.grp
),
shelter_g AS (
    SELECT un.grp, count(*) AS n, sum(s.capacity) AS capacity, sum(s.occupancy) AS occupied
    FROM shelter s JOIN unit un ON un.code = s.admin_code GROUP BY un.grp
),
team_g AS (
    SELECT un.grp, t.specialty, count(*) AS n
    FROM rescue_team t JOIN unit un ON un.code = t.admin_code GROUP BY un.grp, t.specialty
),
expert_g AS (
    SELECT un.grp, count(*) AS n
    FROM expert e JOIN person p ON p.id = e.person_id JOIN unit un ON un.code = p.admin_code
    GROUP BY un.grp
),
groups AS (
    SELECT DISTINCT un.grp, un.grp_level FROM unit un
    WHERE un.grp IN (SELECT grp FROM stock_g UNION SELECT grp FROM wh_g
                     UNION SELECT grp FROM shelter_g UNION SELECT grp FROM team_g
                     UNION SELECT grp FROM expert_g)
)
SELECT g.grp AS code, g.grp_level AS level, a.name,
       coalesce(wh.n, 0) AS warehouses,
       coalesce((SELECT jsonb_agg(jsonb_build_object('item', s.item, 'item_name', s.item_name,
                                                     'unit', s.unit, 'quantity', s.quantity,
                                                     'warehouses', s.warehouses)
                                  ORDER BY s.item)
                 FROM stock_g s WHERE s.grp = g.grp), '[]'::jsonb) AS stock,
       coalesce(sh.n, 0) AS shelters,
       coalesce(sh.capacity, 0) AS capacity,
       coalesce(sh.occupied, 0) AS occupied,
       coalesce(sh.capacity - sh.occupied, 0) AS free,
       coalesce((SELECT jsonb_object_agg(t.specialty, t.n ORDER BY t.specialty)
                 FROM team_g t WHERE t.grp = g.grp), '{}'::jsonb) AS teams,
       coalesce(ex.n, 0) AS experts
FROM groups g
JOIN admin_unit a ON a.code = g.grp
LEFT JOIN wh_g wh ON wh.grp = g.grp
LEFT JOIN shelter_g sh ON sh.grp = g.grp
LEFT JOIN expert_g ex ON ex.grp = g.grp
ORDER BY g.grp_level, g.grp;
