-- The open (proposed or active) response of a county under a plan, locked for the change.
SELECT * FROM response
WHERE county_code = %(county)s AND plan_id = %(plan)s AND status IN ('proposed', 'active')
FOR UPDATE;
