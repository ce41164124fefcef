-- A 'coverage' live event per warning touched by a batch (or an acknowledgement): what the
-- newest announced version reached so far, for the wall map. Phones never leave the outbox.
WITH latest AS (
    SELECT warning_id, max(version) AS version FROM outbox
    WHERE warning_id = ANY (%(warning_ids)s::bigint[]) AND channel IN ('broadcast', 'sms')
      AND NOT payload ? 'left_area'
    GROUP BY warning_id
), t AS (
    SELECT o.warning_id, o.version, o.channel,
           jsonb_build_object(
               'total', count(*),
               'delivered', count(*) FILTER (WHERE o.status IN ('sent', 'acked')),
               'acknowledged', count(*) FILTER (WHERE o.status = 'acked'),
               'failed', count(*) FILTER (WHERE o.status IN ('failed', 'dead')),
               'pending', count(*) FILTER (WHERE o.status = 'pending'),
               'villages', count(DISTINCT o.payload ->> 'village_code'),
               'villages_reached', count(DISTINCT o.payload ->> 'village_code')
                                   FILTER (WHERE o.status IN ('sent', 'acked')),
               'villages_acknowledged', count(DISTINCT o.payload ->> 'village_code')
                                        FILTER (WHERE o.status = 'acked')) AS counts
    FROM outbox o JOIN latest l USING (warning_id, version)
    WHERE o.channel IN ('broadcast', 'sms') AND NOT o.payload ? 'left_area'
    GROUP BY o.warning_id, o.version, o.channel
)
SELECT riskmap_event('coverage', jsonb_build_object(
    'warning_id', warning_id, 'version', version, 'channels', jsonb_object_agg(channel, counts)))
FROM t
GROUP BY warning_id, version;
