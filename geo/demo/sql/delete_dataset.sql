-- Reloading a demo replaces it: every row of the dataset goes (foreign keys cascade).
DELETE FROM dataset WHERE id = %(id)s;
