-- One response, locked for an action.
SELECT * FROM response WHERE id = %(id)s FOR UPDATE;
