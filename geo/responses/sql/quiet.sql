-- Whether a commander dismissed a proposal of this level or a higher one (a smaller number)
-- for the county and plan within the plan's quiet hours: then it is not proposed again.
SELECT EXISTS (
    SELECT 1 FROM response_proposal p JOIN response r ON r.id = p.response_id
    WHERE r.county_code = %(county)s AND r.plan_id = %(plan)s AND p.status = 'dismissed'
      AND p.level <= %(level)s
      AND p.decided_at > %(at)s::timestamptz - make_interval(secs => %(quiet_s)s)
);
