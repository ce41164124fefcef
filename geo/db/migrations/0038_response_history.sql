-- depends: 0034_duty
-- A response and its tasks are history (应急响应 records, like the warning audit and the duty
-- hand-over notes): reloading a county's units (a yearly code or boundary update, or
-- `riskmap demo` again) deletes and re-inserts admin_unit rows, and a foreign key from the
-- response to its county or township made that reload fail ("still referenced from table
-- response_task"). The codes stay as plain GB/T 2260 text, as warning.village_codes do; the
-- assignee's name and phone are already copied onto the task.
ALTER TABLE response DROP CONSTRAINT response_county_code_fkey;
ALTER TABLE response_task DROP CONSTRAINT response_task_office_code_fkey;
