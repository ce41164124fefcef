-- The levels whose tasks a response has already started.
SELECT DISTINCT level FROM response_task WHERE response_id = %(id)s;
