-- Rescue teams (救援队伍) with specialty and member count.
SELECT t.id, t.name, t.specialty, t.level, t.admin_code, a.name AS admin_name,
       (SELECT count(*) FROM team_member m WHERE m.team_id = t.id) AS members,
       ST_AsBinary(t.geom) AS wkb
FROM rescue_team t LEFT JOIN admin_unit a ON a.code = t.admin_code
ORDER BY t.id;
