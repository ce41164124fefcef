-- Field reports with their photos; filters are NULL for "any". Newest observation first.
SELECT r.id, r.kind, r.village_code, v.name AS village_name, v.township_code,
       r.observed_at, r.reported_at, r.reporter, u.display_name AS reporter_name, r.text,
       r.people_affected, r.dead, r.injured, r.missing, r.damage, r.status, r.verifier,
       r.verified_at, r.note, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                            'n', p.n, 'content_type', p.content_type, 'bytes', p.bytes,
                            'sha256', p.sha256, 'width', p.width, 'height', p.height,
                            'filename', p.filename) ORDER BY p.n)
                 FROM field_report_photo p WHERE p.report_id = r.id), '[]'::jsonb) AS photos
FROM field_report r
LEFT JOIN village v ON v.code = r.village_code
LEFT JOIN app_user u ON u.name = r.reporter
WHERE (%(id)s::bigint IS NULL OR r.id = %(id)s::bigint)
  AND (%(status)s::text[] IS NULL OR r.status = ANY(%(status)s::text[]))
  AND (%(kind)s::text[] IS NULL OR r.kind = ANY(%(kind)s::text[]))
  AND (%(village_code)s::text IS NULL OR r.village_code = %(village_code)s::text)
  AND (%(area)s::text IS NULL OR r.village_code LIKE %(area)s || '%%')  -- area of responsibility
  AND (%(township_code)s::text IS NULL OR v.township_code = %(township_code)s::text)
  AND (%(since)s::timestamptz IS NULL OR r.observed_at >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR r.observed_at <= %(until)s::timestamptz)
  AND (%(bbox)s::double precision[] IS NULL
       OR r.geom && ST_MakeEnvelope((%(bbox)s::float8[])[1], (%(bbox)s::float8[])[2],
                                        (%(bbox)s::float8[])[3], (%(bbox)s::float8[])[4], 4326))
ORDER BY r.observed_at DESC, r.id DESC
LIMIT %(limit)s OFFSET %(offset)s;
